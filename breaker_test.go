package synclayer_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// newBreakerDispatcher registers one connector whose breaker opens after
// one failure and probes after 10s, with the given extra options.
func newBreakerDispatcher(t *testing.T, fake *synclayertest.Fake, opts ...synclayer.ConnectorOption) *synclayer.Dispatcher {
	t.Helper()
	reg := new(synclayer.Registry)
	o := append([]synclayer.ConnectorOption{synclayer.Route("WorkflowDeployed", keyMapper),
		synclayer.WithRetry(synclayer.RetryPolicy{MaxAttempts: 1}),
		synclayer.WithBreaker(synclayer.BreakerPolicy{Window: time.Minute, MinRequests: 1, FailureRate: 0.5, OpenFor: 10 * time.Second})}, opts...)
	must(t, reg.Register("p0", fake, o...))
	return synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver))
}

// The reproduction of a stuck half-open breaker: the probe is granted, then
// its wait for the rate limiter fails on a context deadline. The probe slot
// is given back, so once the partner heals a later event probes, the
// breaker closes, and every later event syncs.
func TestBreakerSettlesWhenTheProbeCannotWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := synclayertest.NewFake()
		d := newBreakerDispatcher(t, fake, synclayer.WithRateLimit(0.01, 1)) // one token per 100s
		fake.Inject(synclayertest.Fault{Err: errors.New("503")})
		_, _ = d.Dispatch(context.Background(), event("f", "F", 0))
		if st := d.Status()[0]; st.Breaker != synclayer.BreakerOpen {
			t.Fatalf("breaker %v, want open", st.Breaker)
		}
		time.Sleep(11 * time.Second) // half-open; the limiter is empty for 89s more
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		rep, _ := d.Dispatch(ctx, event("p", "P", 0))
		cancel()
		if rep.Results[0].Status != synclayer.StatusFailed {
			t.Fatalf("probe that cannot get a token: %v", statuses(rep))
		}
		time.Sleep(100 * time.Second) // the token is back, the partner healed
		for i := range 3 {
			rep, err := d.Dispatch(context.Background(), event(fmt.Sprint("e", i), fmt.Sprint("K", i), 0))
			if err != nil || rep.Results[0].Status != synclayer.StatusSynced {
				t.Fatalf("event %d after healing: %v, %v", i, statuses(rep), err)
			}
			time.Sleep(100 * time.Second)
		}
		if st := d.Status()[0]; st.Breaker != synclayer.BreakerClosed {
			t.Fatalf("breaker %v, want closed", st.Breaker)
		}
	})
}

// A probe whose dispatch is cancelled mid-call says nothing about the
// partner: the breaker neither closes nor sticks, and the next event
// probes.
func TestBreakerSettlesWhenTheProbeIsCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := synclayertest.NewFake()
		d := newBreakerDispatcher(t, fake)
		fake.Inject(synclayertest.Fault{Err: errors.New("503")})
		_, _ = d.Dispatch(context.Background(), event("f", "F", 0))
		time.Sleep(11 * time.Second)
		release := fake.Hold()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan synclayer.Report, 1)
		go func() { rep, _ := d.Dispatch(ctx, event("p", "P", 0)); done <- rep }()
		synctest.Wait()
		cancel()
		<-done
		release()
		if st := d.Status()[0]; st.Breaker != synclayer.BreakerHalfOpen {
			t.Fatalf("breaker %v after a cancelled probe, want still half-open", st.Breaker)
		}
		rep, err := d.Dispatch(context.Background(), event("e", "K", 0))
		if err != nil || rep.Results[0].Status != synclayer.StatusSynced {
			t.Fatalf("next event: %v, %v", statuses(rep), err)
		}
		if st := d.Status()[0]; st.Breaker != synclayer.BreakerClosed {
			t.Fatalf("breaker %v after a good probe, want closed", st.Breaker)
		}
	})
}

// The drains a breaker schedules belong to the Run that saw it open: they
// end with it, and no Sync is called after Run returns.
func TestBreakerDrainEndsWithRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake, d := breakerOnDurableLog(t)
		h, stop := runHandler(t, d)
		fake.Inject(synclayertest.Fault{Err: errors.New("503")})
		_ = h(context.Background(), event("f", "F", 0))
		if err := h(context.Background(), event("p", "P", 0)); err != nil { // held, in a durable log
			t.Fatal(err)
		}
		calls := fake.CallCount()
		stop() // before the breaker may probe
		time.Sleep(time.Minute)
		synctest.Wait()
		if n := fake.CallCount(); n != calls {
			t.Fatalf("%d calls after Run returned", n-calls)
		}
	})
}

// A breaker that opens while a route waits for its key holds that route as
// pending once it gets the key, instead of failing it.
func TestBreakerOpeningWhileARouteWaitsForItsKeyHoldsIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := synclayertest.NewFake()
		d := newBreakerDispatcher(t, fake)
		gate := make(chan struct{})
		fake.Inject(synclayertest.Fault{Err: errors.New("503"), Wait: gate})
		first := goDispatch(d, event("e1", "K", 1))
		synctest.Wait() // e1 is in flight on K
		second := goDispatch(d, event("e2", "K", 2))
		synctest.Wait() // e2 waits for K
		close(gate)     // e1 fails: the breaker opens
		if rep := <-first; rep.Results[0].Status != synclayer.StatusFailed {
			t.Fatalf("e1: %v", statuses(rep))
		}
		rep := <-second
		if rep.Results[0].Status != synclayer.StatusPending {
			t.Fatalf("e2, which got the key after the breaker opened: %v, %v", statuses(rep), rep.Results[0].Err)
		}
		if fake.CallCount() != 1 {
			t.Fatalf("%d calls; the held route must not reach the partner", fake.CallCount())
		}
		got, _ := d.Deliveries(context.Background(), synclayer.DeliveryFilter{EventID: "e2", Connector: "p0"})
		if len(got) != 1 || got[0].State != synclayer.StatusPending || got[0].Event == nil {
			t.Fatalf("e2's log entry: %+v", got)
		}
	})
}

// breakerOnDurableLog is one connector, p0, that tries once and whose
// breaker opens on the first failure for 10s, on a dispatcher whose log
// counts as durable (so Run acknowledges held routes).
func breakerOnDurableLog(t *testing.T) (*synclayertest.Fake, *synclayer.Dispatcher) {
	t.Helper()
	fake := synclayertest.NewFake()
	reg := new(synclayer.Registry)
	must(t, reg.Register("p0", fake, synclayer.Route("WorkflowDeployed", keyMapper),
		synclayer.WithRetry(synclayer.RetryPolicy{MaxAttempts: 1}),
		synclayer.WithBreaker(synclayer.BreakerPolicy{Window: time.Minute, MinRequests: 1, FailureRate: 0.5, OpenFor: 10 * time.Second})))
	return fake, synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithDeliveryLog(durableLog{new(synclayer.MemoryLog)}))
}

// With NoDeliveryLog, a route refused by an open breaker goes back to the
// bus as a redelivery (uncounted) for when the breaker may probe, not as an
// ordinary failure the bus would count toward dead-lettering.
func TestOpenBreakerWithoutLogRedelivers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := synclayertest.NewFake()
		reg := new(synclayer.Registry)
		must(t, reg.Register("p0", fake, synclayer.Route("WorkflowDeployed", keyMapper),
			synclayer.WithRetry(synclayer.RetryPolicy{MaxAttempts: 1}),
			synclayer.WithBreaker(synclayer.BreakerPolicy{Window: time.Minute, MinRequests: 1, FailureRate: 0.5, OpenFor: 10 * time.Second})))
		d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithDeliveryLog(synclayer.NoDeliveryLog))
		h, stop := runHandler(t, d)
		defer stop()
		fake.Inject(synclayertest.Fault{Err: errors.New("503")})
		_ = h(context.Background(), event("f", "F", 0))
		err := h(context.Background(), event("p", "P", 0))
		if after, ok := synclayer.RedeliverAfter(err); !ok || after <= 0 || synclayer.IsPermanent(err) {
			t.Fatalf("an event refused by the open breaker: %v (redeliver %v after %v); want a redelivery after a delay", err, ok, after)
		}
		if fake.CallCount() != 1 {
			t.Fatalf("partner called %d times, want 1 (the failure that opened the breaker)", fake.CallCount())
		}
	})
}
