package conntest

import (
	"errors"
	"strings"
	"testing"

	"github.com/hmsplatform/synclayer/internal/option"
)

// CheckConfig runs, as the subtest name, one Config that a connector's New
// (build) must accept (want "") or refuse: an accepted Config gives a
// connector, closed again; a refused one an error that wraps
// option.ErrInvalid, starts with prefix ("rest: config: "), holds want,
// and does not repeat secret.
func CheckConfig[C any](t *testing.T, name, prefix, secret string, build func(C) (Closer, error), cfg C, want string) {
	t.Run(name, func(t *testing.T) {
		c, err := build(cfg)
		if want == "" {
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			c.Close()
			return
		}
		if err == nil || !errors.Is(err, option.ErrInvalid) || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), prefix) {
			t.Fatalf("New: %v, want an invalid-option error about %q", err, want)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error repeats a secret: %v", err)
		}
	})
}
