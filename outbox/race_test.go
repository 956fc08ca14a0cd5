//go:build race

package outbox_test

// raceEnabled: the race detector slows the database clients several
// times, so the long tests run fewer events under it.
const raceEnabled = true
