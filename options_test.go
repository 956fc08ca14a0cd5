package synclayer_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// TestConnectorOptionRule: a zero value means the default and registers;
// a bad value makes Register fail with ErrInvalidOption, naming the option.
func TestConnectorOptionRule(t *testing.T) {
	route := synclayer.Route("WorkflowDeployed", keyMapper)
	for _, tc := range []struct {
		name    string
		opt     synclayer.ConnectorOption
		wantErr string // "" registers
	}{
		{"nil option", nil, ""},
		{"zero timeout", synclayer.WithTimeout(0), ""},
		{"zero concurrency", synclayer.WithConcurrency(0), ""},
		{"zero rate limit", synclayer.WithRateLimit(0, 0), ""},
		{"zero retry policy", synclayer.WithRetry(synclayer.RetryPolicy{}), ""},
		{"zero breaker policy", synclayer.WithBreaker(synclayer.BreakerPolicy{}), ""},
		{"negative timeout", synclayer.WithTimeout(-time.Second),
			`synclayer: register connector "p": invalid option WithTimeout(-1s): must not be negative`},
		{"negative concurrency", synclayer.WithConcurrency(-1),
			`synclayer: register connector "p": invalid option WithConcurrency(-1): must not be negative`},
		{"negative rate", synclayer.WithRateLimit(-1, 1),
			`synclayer: register connector "p": invalid option WithRateLimit(-1): must not be negative`},
		{"negative burst", synclayer.WithRateLimit(1, -1),
			`synclayer: register connector "p": invalid option WithRateLimit burst(-1): must not be negative`},
		{"negative retry field", synclayer.WithRetry(synclayer.RetryPolicy{MaxAttempts: -1}),
			`synclayer: register connector "p": invalid option WithRetry(`},
		{"failure rate above 1", synclayer.WithBreaker(synclayer.BreakerPolicy{FailureRate: 1.5}),
			`synclayer: register connector "p": invalid option WithBreaker(1.5): the failure rate is outside [0, 1]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := new(synclayer.Registry)
			err := reg.Register("p", synclayertest.NewFake(), route, tc.opt)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Register: %v", err)
				}
				return
			}
			if !errors.Is(err, synclayer.ErrInvalidOption) {
				t.Fatalf("Register = %v; want ErrInvalidOption", err)
			}
			if got := err.Error(); len(got) < len(tc.wantErr) || got[:len(tc.wantErr)] != tc.wantErr {
				t.Fatalf("Register error = %q; want it to start with %q", got, tc.wantErr)
			}
			if got := reg.Connectors(); len(got) != 0 {
				t.Fatalf("a failed Register left connectors %v", got)
			}
		})
	}
}

// TestZeroConcurrencyMeansDefault: WithConcurrency(0) gives the default
// bound (32 Sync calls at once), not a connector that can never push.
func TestZeroConcurrencyMeansDefault(t *testing.T) {
	reg := new(synclayer.Registry)
	fake := synclayertest.NewFake()
	must(t, reg.Register("p", fake, synclayer.Route("WorkflowDeployed", keyMapper), synclayer.WithConcurrency(0), synclayer.WithTimeout(0)))
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver))
	if _, err := d.Dispatch(t.Context(), event("e1", "WF-1", 1)); err != nil {
		t.Fatal(err)
	}
	if n := fake.CallCount(); n != 1 {
		t.Fatalf("partner called %d times, want 1", n)
	}
}

// TestDispatcherOptionRule: zero and nil values mean the defaults; a
// negative duration or size makes NewDispatcher fail with ErrInvalidOption,
// naming the option; "off" is a named value.
func TestDispatcherOptionRule(t *testing.T) {
	for _, tc := range []struct {
		opt     synclayer.Option
		wantErr string // "" builds
	}{
		{nil, ""},
		{synclayer.WithStore(nil), ""},
		{synclayer.WithPublisher(nil), ""},
		{synclayer.WithObserver(nil), ""},
		{synclayer.WithDeliveryLog(nil), ""},
		{synclayer.WithSource(""), ""},
		{synclayer.WithRetention(0), ""},
		{synclayer.WithDrainTimeout(0), ""},
		{synclayer.WithLeaseTTL(0), ""},
		{synclayer.WithMaxEventBytes(0), ""},
		{synclayer.WithRetention(-time.Hour), "synclayer: new dispatcher: invalid option WithRetention(-1h0m0s): must not be negative"},
		{synclayer.WithDrainTimeout(-time.Second), "synclayer: new dispatcher: invalid option WithDrainTimeout(-1s): must not be negative"},
		{synclayer.WithLeaseTTL(-time.Second), "synclayer: new dispatcher: invalid option WithLeaseTTL(-1s): must not be negative"},
		{synclayer.WithMaxEventBytes(-1), "synclayer: new dispatcher: invalid option WithMaxEventBytes(-1): must not be negative"},
	} {
		d, err := synclayer.NewDispatcher(new(synclayer.Registry), tc.opt)
		if tc.wantErr == "" {
			if err != nil || d == nil {
				t.Errorf("NewDispatcher = %v, %v; want a dispatcher", d, err)
			}
			continue
		}
		if d != nil || !errors.Is(err, synclayer.ErrInvalidOption) || err.Error() != tc.wantErr {
			t.Errorf("NewDispatcher = %v, %v; want nil and %q (ErrInvalidOption)", d, err, tc.wantErr)
		}
	}
}

// TestNilMeansDefaultAndOffIsNamed: WithDeliveryLog(nil) keeps the default
// memory log (Pause works), while NoDeliveryLog turns the log off (Pause
// refuses); WithObserver(nil) keeps the default observer, NoObserver sees
// nothing.
func TestNilMeansDefaultAndOffIsNamed(t *testing.T) {
	reg := new(synclayer.Registry)
	must(t, reg.Register("p", synclayertest.NewFake(), synclayer.Route("WorkflowDeployed", keyMapper)))
	withDefault := synclayertest.NewDispatcher(t, reg, synclayer.WithDeliveryLog(nil), synclayer.WithObserver(synclayer.NoObserver))
	if err := withDefault.Pause("p"); err != nil {
		t.Fatalf("Pause with the default log: %v", err)
	}
	off := synclayertest.NewDispatcher(t, reg, synclayer.WithDeliveryLog(synclayer.NoDeliveryLog), synclayer.WithObserver(synclayer.NoObserver))
	if err := off.Pause("p"); err == nil || !strings.Contains(err.Error(), "no delivery log") {
		t.Fatalf("Pause with NoDeliveryLog = %v; want the no-delivery-log error", err)
	}
	if _, err := off.Deliveries(t.Context(), synclayer.DeliveryFilter{}); err == nil {
		t.Fatal("Deliveries with NoDeliveryLog succeeded; want an error")
	}
}
