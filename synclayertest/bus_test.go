package synclayertest_test

import (
	"context"
	"testing"

	"github.com/hmsplatform/synclayer/bus/memory"
	"github.com/hmsplatform/synclayer/synclayertest"
)

func TestBusMemory(t *testing.T) {
	synclayertest.TestBus(t, func(t *testing.T, cfg synclayertest.BusConfig) synclayertest.BusFixture {
		b, err := memory.New(memory.WithMaxDeliveries(cfg.MaxDeliveries), memory.WithRedeliveryDelay(cfg.RedeliveryDelay))
		if err != nil {
			t.Fatal(err)
		}
		return synclayertest.BusFixture{
			Bus: b,
			DeadLetters: func(context.Context) ([]synclayertest.DeadLetter, error) {
				var out []synclayertest.DeadLetter
				for _, dl := range b.DeadLetters() {
					out = append(out, synclayertest.DeadLetter{Event: dl.Event, Err: dl.Err.Error(), Deliveries: dl.Deliveries})
				}
				return out, nil
			},
		}
	})
}
