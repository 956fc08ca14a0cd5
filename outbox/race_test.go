//go:build race

package outbox_test

// raceEnabled: the race detector slows SQLite (pure Go) most.
const raceEnabled = true
