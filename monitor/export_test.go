package monitor

import "time"

// SetClock makes h read the time from now, for tests of expiry.
func SetClock(h *Handler, now func() time.Time) { h.now = now }

// The query parsers and their error, for the fuzz tests.
var (
	ParseFilter       = parseFilter
	ParseReplayFilter = parseReplayFilter
	ErrBadQuery       = errBadQuery
)
