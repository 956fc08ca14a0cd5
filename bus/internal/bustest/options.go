package bustest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer/internal/option"
)

// InvalidOptions checks the option rule on a bus constructor: given each
// option of shared (see [SharedOptions]) and of bad, newBus returns an
// error that wraps option.ErrInvalid and names the option and its value
// as the map's key does, e.g. "WithMaxDeliveries(-1)".
func InvalidOptions[O any](t *testing.T, newBus func(O) error, shared, bad map[string]O) {
	t.Helper()
	for _, opts := range []map[string]O{shared, bad} {
		for name, o := range opts {
			err := newBus(o)
			if !errors.Is(err, option.ErrInvalid) || !strings.Contains(err.Error(), name) {
				t.Errorf("%s: err = %v, want an invalid option error naming %s", name, err, name)
			}
		}
	}
}

// SharedOptions returns, for [InvalidOptions], a negative value of each
// option that every bus has from bus/internal/config, given the bus's own
// With… functions of them, keyed by the option and its value.
func SharedOptions[O any](maxDeliveries func(int) O, redeliveryDelay func(time.Duration) O, concurrency func(int) O) map[string]O {
	return map[string]O{
		"WithMaxDeliveries(-1)":    maxDeliveries(-1),
		"WithRedeliveryDelay(-1s)": redeliveryDelay(-time.Second),
		"WithConcurrency(-1)":      concurrency(-1),
	}
}
