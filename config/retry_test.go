package config_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/config"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// downKind is a kind whose connector always fails with a retryable error.
var downKind = &config.Kind{
	Name:     "down",
	Settings: func() any { return new(struct{}) },
	Open:     true,
	New: func(context.Context, *config.Binding, any) (synclayer.Connector, error) {
		return synclayer.ConnectorFunc(func(context.Context, synclayer.Record) error {
			return errors.New("down: partner unavailable")
		}), nil
	},
	Payload: func(r config.RecordValue) (any, error) { return r.JSON(), nil },
}

// A partner's retry.jitter: 0 turns jitter off, so the waits are exactly
// initialInterval times multiplier to the power of the retry; without
// jitter the default (±50%) spreads them.
func TestRetryJitter(t *testing.T) {
	exact := []time.Duration{time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond, 0}
	for _, tc := range []struct {
		name, retry string
		exact       bool
	}{
		{"jitter 0 turns jitter off", "{maxAttempts: 4, initialInterval: 1ms, multiplier: 2, jitter: 0}", true},
		{"no jitter keeps the default", "{maxAttempts: 4, initialInterval: 1ms, multiplier: 2}", false},
		{"null jitter keeps the default", "{maxAttempts: 4, initialInterval: 1ms, multiplier: 2, jitter: null}", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := `
partners:
  - name: flaky
    kind: down
    retry: ` + tc.retry + `
    routes:
      A: {key: data.id, record: data}
`
			cfg, err := config.Parse("retry.yaml", []byte(src), config.WithKind(downKind))
			if err != nil {
				t.Fatal(err)
			}
			obs := new(synclayertest.Attempts)
			svc, err := config.Build(context.Background(), cfg, config.WithLogger(slog.New(slog.DiscardHandler)), config.WithObserver(obs))
			if err != nil {
				t.Fatal(err)
			}
			defer svc.Close(context.Background())
			rep, _ := svc.Dispatcher.Dispatch(context.Background(), synclayer.Event{ID: "e-1", Type: "A", Data: []byte(`{"id":"k-1"}`)})
			if len(rep.Results) != 1 || rep.Results[0].Status != synclayer.StatusFailed || rep.Results[0].Attempts != 4 {
				t.Fatalf("report %+v, want one route failed after 4 attempts", rep.Results)
			}
			if waits := obs.Waits(); slices.Equal(waits, exact) != tc.exact {
				t.Errorf("waits %v; exactly %v: %v, want %v", waits, exact, !tc.exact, tc.exact)
			}
		})
	}
}
