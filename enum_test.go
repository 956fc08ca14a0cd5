package synclayer_test

import (
	"encoding"
	"fmt"
	"strings"
	"testing"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency"
)

// textEnum is what every exported enum of the package offers.
type textEnum interface {
	fmt.Stringer
	encoding.TextMarshaler
}

// TestEnums holds every exported enum to one behaviour: each name
// round-trips through MarshalText and UnmarshalText; an unknown value prints
// as "Type(n)" and does not marshal; an unknown name does not unmarshal.
func TestEnums(t *testing.T) {
	type enumCase struct {
		typ     string
		named   map[string]textEnum
		unknown textEnum
		parse   func([]byte) (textEnum, error)
	}
	cases := []enumCase{
		{
			typ: "Status",
			named: map[string]textEnum{"pending": synclayer.StatusPending, "in_progress": synclayer.StatusInProgress,
				"synced": synclayer.StatusSynced, "duplicate": synclayer.StatusDuplicate, "stale": synclayer.StatusStale,
				"failed": synclayer.StatusFailed, "dead": synclayer.StatusDead},
			unknown: synclayer.Status(99),
			parse: func(b []byte) (textEnum, error) {
				var v synclayer.Status
				return v, v.UnmarshalText(b)
			},
		},
		{
			typ: "ClaimStatus",
			named: map[string]textEnum{"acquired": idempotency.ClaimAcquired, "done": idempotency.ClaimDone,
				"stale": idempotency.ClaimStale, "busy": idempotency.ClaimBusy},
			unknown: idempotency.ClaimStatus(99),
			parse: func(b []byte) (textEnum, error) {
				var v idempotency.ClaimStatus
				err := v.UnmarshalText(b)
				return v, err
			},
		},
		{
			typ: "BreakerState",
			named: map[string]textEnum{"closed": synclayer.BreakerClosed, "open": synclayer.BreakerOpen,
				"half_open": synclayer.BreakerHalfOpen},
			unknown: synclayer.BreakerState(99),
			parse: func(b []byte) (textEnum, error) {
				var v synclayer.BreakerState
				err := v.UnmarshalText(b)
				return v, err
			},
		},
	}
	for _, c := range cases {
		t.Run(c.typ, func(t *testing.T) {
			for name, v := range c.named {
				if got := v.String(); got != name {
					t.Errorf("%s(%v).String() = %q, want %q", c.typ, v, got, name)
				}
				b, err := v.MarshalText()
				if err != nil || string(b) != name {
					t.Errorf("MarshalText(%s) = %q, %v; want %q", name, b, err, name)
				}
				back, err := c.parse([]byte(name))
				if err != nil || back != v {
					t.Errorf("UnmarshalText(%q) = %v, %v; want %v", name, back, err, v)
				}
			}
			if got, want := c.unknown.String(), c.typ+"(99)"; got != want {
				t.Errorf("unknown String() = %q, want %q", got, want)
			}
			if b, err := c.unknown.MarshalText(); err == nil {
				t.Errorf("MarshalText of an unknown %s = %q, want an error", c.typ, b)
			} else if want := "synclayer: unknown " + c.typ + " 99"; err.Error() != want {
				t.Errorf("MarshalText error = %q, want %q", err, want)
			}
			for _, bad := range []string{"", "bogus", strings.ToUpper(firstName(c.named))} {
				if _, err := c.parse([]byte(bad)); err == nil {
					t.Errorf("UnmarshalText(%q) of %s succeeded, want an error", bad, c.typ)
				} else if want := fmt.Sprintf("synclayer: unknown %s %q", c.typ, bad); err.Error() != want {
					t.Errorf("UnmarshalText(%q) error = %q, want %q", bad, err, want)
				}
			}
		})
	}
}

func firstName(m map[string]textEnum) string {
	for n := range m {
		return n
	}
	return ""
}
