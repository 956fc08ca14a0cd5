package monitor

import "time"

// SetClock makes h read the time from now, for tests of expiry.
func SetClock(h *Handler, now func() time.Time) { h.now = now }
