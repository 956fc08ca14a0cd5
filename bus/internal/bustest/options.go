package bustest

import (
	"errors"
	"strings"
	"testing"

	"github.com/hmsplatform/synclayer/internal/option"
)

// InvalidOptions checks the option rule on a bus constructor: given each
// option of bad, newBus returns an error that wraps option.ErrInvalid and
// names the option and its value as the key of bad does, e.g.
// "WithMaxDeliveries(-1)".
func InvalidOptions[O any](t *testing.T, newBus func(O) error, bad map[string]O) {
	t.Helper()
	for name, o := range bad {
		err := newBus(o)
		if !errors.Is(err, option.ErrInvalid) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: err = %v, want an invalid option error naming %s", name, err, name)
		}
	}
}
