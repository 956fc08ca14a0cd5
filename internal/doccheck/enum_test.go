package doccheck

import (
	"encoding"
	"fmt"
	"strings"
	"testing"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/config"
	"github.com/hmsplatform/synclayer/connectors/soap"
	"github.com/hmsplatform/synclayer/idempotency"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// textEnum is what every exported enum of the package offers.
type textEnum interface {
	fmt.Stringer
	encoding.TextMarshaler
}

// parseAs returns the parse func of a case: UnmarshalText into a fresh T.
func parseAs[T textEnum, P interface {
	*T
	encoding.TextUnmarshaler
}]() func([]byte) (textEnum, error) {
	return func(b []byte) (textEnum, error) {
		var v T
		err := P(&v).UnmarshalText(b)
		return v, err
	}
}

// TestEnums holds every exported enum of the module to one behaviour: each
// name round-trips through MarshalText and UnmarshalText; an unknown value
// prints as "Type(n)" and does not marshal; an unknown name does not
// unmarshal, and the error says what is unknown. Most share
// internal/enum; soap.Version keeps the empty text for its zero value,
// which means the default.
func TestEnums(t *testing.T) {
	type enumCase struct {
		typ     string
		named   map[string]textEnum
		unknown textEnum
		parse   func([]byte) (textEnum, error)
		// emptyIsZero: the empty text decodes to the zero value (the
		// default) instead of failing.
		emptyIsZero bool
	}
	cases := []enumCase{
		{
			typ: "Status",
			named: map[string]textEnum{"pending": synclayer.StatusPending, "in_progress": synclayer.StatusInProgress,
				"synced": synclayer.StatusSynced, "duplicate": synclayer.StatusDuplicate, "stale": synclayer.StatusStale,
				"failed": synclayer.StatusFailed, "dead": synclayer.StatusDead},
			unknown: synclayer.Status(99),
			parse:   parseAs[synclayer.Status](),
		},
		{
			typ: "ClaimStatus",
			named: map[string]textEnum{"acquired": idempotency.ClaimAcquired, "done": idempotency.ClaimDone,
				"stale": idempotency.ClaimStale, "busy": idempotency.ClaimBusy},
			unknown: idempotency.ClaimStatus(99),
			parse:   parseAs[idempotency.ClaimStatus](),
		},
		{
			typ: "BreakerState",
			named: map[string]textEnum{"closed": synclayer.BreakerClosed, "open": synclayer.BreakerOpen,
				"half_open": synclayer.BreakerHalfOpen},
			unknown: synclayer.BreakerState(99),
			parse:   parseAs[synclayer.BreakerState](),
		},
		{
			typ: "FieldType",
			named: map[string]textEnum{"string": config.String, "int": config.Int, "double": config.Double,
				"bool": config.Bool, "timestamp": config.Timestamp, "map(string, dyn)": config.Map, "dyn": config.Any},
			unknown: config.FieldType(99),
			parse:   parseAs[config.FieldType](),
		},
		{
			typ:         "Version",
			named:       map[string]textEnum{"SOAP 1.1": soap.SOAP11, "SOAP 1.2": soap.SOAP12},
			unknown:     soap.Version(99),
			parse:       parseAs[soap.Version](),
			emptyIsZero: true,
		},
		{
			typ: "ChaosFault",
			named: map[string]textEnum{"none": synclayertest.ChaosNone, "server-error": synclayertest.ChaosServerError,
				"rate-limited": synclayertest.ChaosRateLimited, "reset-before": synclayertest.ChaosResetBefore,
				"lost-response": synclayertest.ChaosLostResponse, "stall": synclayertest.ChaosStall,
				"slow-body": synclayertest.ChaosSlowBody, "truncated-body": synclayertest.ChaosTruncatedBody,
				"error-body": synclayertest.ChaosErrorBody},
			unknown: synclayertest.ChaosFault(99),
			parse:   parseAs[synclayertest.ChaosFault](),
		},
		{
			typ: "Failure",
			named: map[string]textEnum{"FailRetryable": synclayertest.FailRetryable, "FailPermanent": synclayertest.FailPermanent,
				"FailStall": synclayertest.FailStall, "FailLostResponse": synclayertest.FailLostResponse},
			unknown: synclayertest.Failure(99),
			parse:   parseAs[synclayertest.Failure](),
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
			} else if !strings.Contains(strings.ToLower(err.Error()), "unknown "+strings.ToLower(c.typ)+" 99") {
				t.Errorf("MarshalText error = %q, want it to name the unknown %s 99", err, c.typ)
			}
			first := firstName(c.named)
			other := strings.ToUpper(first) // names are case-sensitive
			if other == first {
				other = strings.ToLower(first)
			}
			bad := []string{"bogus", other}
			if c.emptyIsZero {
				if v, err := c.parse(nil); err != nil || v.String() != c.typ+"(0)" {
					t.Errorf("UnmarshalText of the empty text = %v, %v; want the zero value", v, err)
				}
			} else {
				bad = append(bad, "")
			}
			for _, bad := range bad {
				if _, err := c.parse([]byte(bad)); err == nil {
					t.Errorf("UnmarshalText(%q) of %s succeeded, want an error", bad, c.typ)
				} else if want := fmt.Sprintf("unknown %s %q", strings.ToLower(c.typ), bad); !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(want)) {
					t.Errorf("UnmarshalText(%q) error = %q, want it to contain %q", bad, err, want)
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
