//go:build race

package guarantee

// raceEnabled reports whether the test binary runs with the race detector,
// which makes the soak about ten times slower; the soak then runs smaller.
const raceEnabled = true
