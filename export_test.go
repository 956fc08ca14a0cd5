package synclayer

// Plumbing that the package's own external tests check directly.

// Match is DeliveryFilter.match, for tests.
func (f DeliveryFilter) Match(d *Delivery) bool { return f.match(d) }
