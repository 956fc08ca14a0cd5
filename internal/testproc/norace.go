//go:build !race

package testproc

// raceEnabled reports whether the binary was built with -race.
const raceEnabled = false
