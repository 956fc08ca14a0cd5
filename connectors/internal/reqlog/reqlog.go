// Package reqlog is the request log that the partner fakes share, the
// exported ones (arcgistest, calendartest) and those of the connectors'
// tests: one line per request, in order, read back as a copy.
package reqlog

import (
	"slices"
	"sync"
)

// Log is a list of lines, one per request, in the order they were added.
// The zero value is empty and ready; a Log is safe for concurrent use.
type Log struct {
	mu    sync.Mutex
	lines []string
}

// Add appends line.
func (l *Log) Add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
}

// Lines returns a copy of the lines added since the last Reset, in order.
func (l *Log) Lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lines)
}

// Reset empties the log.
func (l *Log) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = nil
}
