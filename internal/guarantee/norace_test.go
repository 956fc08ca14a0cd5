//go:build !race

package guarantee

// raceEnabled reports whether the test binary runs with the race detector.
const raceEnabled = false
