package synclayer

// Names kept only until the packages that still use them are moved off
// them in this refactor; this file is deleted before the refactor lands.

// DefaultConcurrency is the default of [WithConcurrency].
const DefaultConcurrency = defaultConcurrency

// ParseDeliveryState returns the status named name.
func ParseDeliveryState(name string) (Status, bool) {
	var s Status
	err := s.UnmarshalText([]byte(name))
	return s, err == nil
}
