// Package config holds the settings that every bus shares (consumer group,
// delivery limit, redelivery delay, concurrency, logger) and the one way
// each is checked and defaulted, so that each bus keeps only its own
// options. It follows the module's option rule (internal/option): a zero
// or nil value means the default, a negative one is an error that wraps
// option.ErrInvalid and names the bus's option, and nothing panics.
//
// A bus holds a Settings, wraps each setter below in its own With… option,
// applies its options, then calls [Settings.Resolve] with its defaults.
package config

import (
	"log/slog"
	"time"

	opt "github.com/hmsplatform/synclayer/internal/option"
)

// Settings are what every bus is configured with. The zero value means
// "the bus's default" for every field.
type Settings struct {
	// Group is the consumer group: subscribers of one group share the
	// events.
	Group string
	// MaxDeliveries is how many times an event is delivered before it is
	// dead-lettered.
	MaxDeliveries int
	// RedeliveryDelay is the wait before the first redelivery of an event
	// whose handler failed; each further one waits twice as long, up to
	// 64 times this delay.
	RedeliveryDelay time.Duration
	// Concurrency is how many handler calls (or, on Kafka, partitions) one
	// Subscribe works on at once.
	Concurrency int
	// Logger receives what the bus cannot return; nil logs nothing.
	Logger *slog.Logger
}

// Defaults are the settings of a bus that does not say otherwise.
var Defaults = Settings{
	Group:           "synclayer",
	MaxDeliveries:   5,
	RedeliveryDelay: time.Second,
	Concurrency:     64,
}

// Option sets one of the Settings; a bus wraps it in its own option type.
type Option func(*Settings) error

// Group sets the consumer group; "" means the bus's default. Each bus
// checks the name against its broker's rules after Resolve.
func Group(name string) Option {
	return func(s *Settings) error { s.Group = name; return nil }
}

// GroupWhere is Group for a bus whose broker restricts the names: a name
// that valid rejects is an error naming WithGroup, with rule saying which
// names are allowed.
func GroupWhere(name string, valid func(string) bool, rule string) Option {
	return func(s *Settings) error { return SetName("WithGroup", name, valid, rule, &s.Group) }
}

// MaxDeliveries sets the delivery limit; 0 means the default, a negative
// value is an error naming WithMaxDeliveries.
func MaxDeliveries(n int) Option {
	return func(s *Settings) error { return opt.Set("WithMaxDeliveries", n, 0, &s.MaxDeliveries) }
}

// RedeliveryDelay sets the first redelivery delay; 0 means the default, a
// negative value is an error naming WithRedeliveryDelay.
func RedeliveryDelay(d time.Duration) Option {
	return func(s *Settings) error { return opt.Set("WithRedeliveryDelay", d, 0, &s.RedeliveryDelay) }
}

// Concurrency sets how much one Subscribe runs at once; 0 means the
// default, a negative value is an error naming WithConcurrency.
func Concurrency(n int) Option {
	return func(s *Settings) error { return opt.Set("WithConcurrency", n, 0, &s.Concurrency) }
}

// Logger sets the logger; nil logs nothing.
func Logger(l *slog.Logger) Option {
	return func(s *Settings) error { s.Logger = l; return nil }
}

// SetName stores name in *to for the option named option, or returns the
// error naming it when name is not "" (the default, which is stored) and
// valid rejects it; rule says which names are allowed.
func SetName(option, name string, valid func(string) bool, rule string, to *string) error {
	if name != "" && !valid(name) {
		return opt.Invalid(option, name, rule)
	}
	*to = name
	return nil
}

// Resolve replaces every zero setting by def's. The logger stays nil when
// none was given.
func (s *Settings) Resolve(def Settings) {
	s.Group = opt.Default(s.Group, def.Group)
	s.MaxDeliveries = opt.Default(s.MaxDeliveries, def.MaxDeliveries)
	s.RedeliveryDelay = opt.Default(s.RedeliveryDelay, def.RedeliveryDelay)
	s.Concurrency = opt.Default(s.Concurrency, def.Concurrency)
	s.Logger = opt.Default(s.Logger, def.Logger)
}

// RetryDelay is the wait before the redelivery that follows delivery
// number deliveries (1 for the first): the redelivery delay doubled for
// each earlier delivery, at most 64 times.
func (s *Settings) RetryDelay(deliveries int) time.Duration {
	return s.RedeliveryDelay << min(max(deliveries-1, 0), 6)
}
