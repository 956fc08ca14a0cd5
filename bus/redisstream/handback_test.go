package redisstream_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/internal/bustest"
	"github.com/hmsplatform/synclayer/bus/redisstream"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// Entries a stopping subscriber had read but not handled are handed back,
// and that does not count as a delivery: with a limit of one delivery,
// another subscriber still handles every one of them.
//
// With two handler slots, the first subscriber reads [hold-0 quick-1]: it
// holds hold-0 and acknowledges quick-1; then it reads [hold-1 e-0] with
// one free slot, holds hold-1, and e-0 waits for a slot until the
// subscriber stops and hands it back. The e-* events left are read by the
// second subscriber.
func TestHandedBackEventsAreNotCounted(t *testing.T) {
	rdb := client(t, "")
	prefix := uniquePrefix(t, rdb)
	first := newBus(t, rdb, prefix, redisstream.WithMaxDeliveries(1), redisstream.WithConcurrency(2))
	second := newBus(t, rdb, prefix, redisstream.WithMaxDeliveries(1))
	ctx := synclayertest.Within(t, 60*time.Second)
	const n = 4 // e-* events
	ids := []string{"hold-0", "quick-1", "hold-1"}
	for i := range n {
		ids = append(ids, fmt.Sprint("e-", i))
	}
	for _, id := range ids {
		if err := first.Publish(ctx, synclayer.Event{ID: id, Type: "Order"}); err != nil {
			t.Fatal(err)
		}
	}
	held := make(chan string, 2)
	stop := bustest.Subscribe(t, first, []string{"Order"}, func(ctx context.Context, ev synclayer.Event) error {
		if strings.HasPrefix(ev.ID, "hold-") {
			held <- ev.ID
			<-ctx.Done() // hold the slot until the subscriber stops
		} else if ev.ID != "quick-1" {
			t.Errorf("the first subscriber handled %s; it should have handed it back", ev.ID)
		}
		return nil
	})
	for range 2 {
		bustest.Wait(ctx, t, held, "the first subscriber never held both slots")
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	got := map[string]bool{}
	bustest.Subscribe(t, second, []string{"Order"}, func(_ context.Context, ev synclayer.Event) error {
		mu.Lock()
		got[ev.ID] = true
		mu.Unlock()
		return nil
	})
	for {
		mu.Lock()
		k := len(got)
		mu.Unlock()
		if k == n {
			break
		}
		select {
		case <-ctx.Done():
			dls, _ := first.DeadLetters(context.Background(), 0)
			t.Fatalf("the second subscriber handled %d of the %d events left; dead letters: %+v", k, n, dls)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if dls, err := first.DeadLetters(context.Background(), 0); err != nil || len(dls) != 0 {
		t.Errorf("dead letters %+v, %v; want none", dls, err)
	}
}

// An entry that arrives while XREADGROUP blocks, after the subscriber's
// context has ended, is handed back, not given to a handler whose context
// has ended: with a limit of one delivery, the next subscriber still
// handles it and nothing is dead-lettered.
func TestEntryReadAfterStopIsHandedBack(t *testing.T) {
	name := bustest.UniqueName(t, "redis-reader")
	rdb := client(t, name)
	admin := client(t, name+"-admin")
	prefix := uniquePrefix(t, admin)
	b := newBus(t, rdb, prefix, redisstream.WithMaxDeliveries(1))
	ctx := synclayertest.Within(t, 30*time.Second)
	if err := b.Publish(ctx, synclayer.Event{ID: "warm", Type: "Order"}); err != nil {
		t.Fatal(err)
	}
	warm := make(chan struct{}, 1)
	late := make(chan error, 1)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- b.Subscribe(sctx, []string{"Order"}, func(hctx context.Context, ev synclayer.Event) error {
			if ev.ID == "warm" {
				warm <- struct{}{}
				return nil
			}
			late <- hctx.Err()
			return hctx.Err()
		})
	}()
	bustest.Wait(ctx, t, warm, "the warm-up event was not handled")
	// Stop while the subscriber blocks in XREADGROUP, then add the entry
	// that read returns.
	bustest.Eventually(ctx, t, func() bool { return blockedRead(ctx, t, admin, name) }, "the subscriber never blocked in XREADGROUP")
	cancel()
	if err := b.Publish(ctx, synclayer.Event{ID: "late", Type: "Order"}); err != nil {
		t.Fatal(err)
	}
	if err := bustest.Wait(ctx, t, done, "Subscribe did not return"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-late:
		t.Fatalf("the stopped subscriber handed the late entry to a handler (context error %v)", err)
	default:
	}
	if ids := bustest.ReceiveAll(ctx, t, b, 1); len(ids) != 1 || ids[0] != "late" {
		t.Fatalf("the next subscriber received %v; want [late]", ids)
	}
	if dls, err := b.DeadLetters(ctx, 0); err != nil || len(dls) != 0 {
		t.Fatalf("dead letters %+v (%v); want none", dls, err)
	}
}

// blockedRead says whether a connection named name blocks in XREADGROUP.
func blockedRead(ctx context.Context, t testing.TB, admin *redis.Client, name string) bool {
	list, err := admin.ClientList(ctx).Result()
	if err != nil {
		t.Fatalf("CLIENT LIST: %v", err)
	}
	for _, line := range strings.Split(list, "\n") {
		f := " " + line + " "
		if strings.Contains(f, " name="+name+" ") && strings.Contains(f, " cmd=xreadgroup ") && strings.Contains(f, " flags=b ") {
			return true
		}
	}
	return false
}

// An entry read in a batch and waiting for a free handler slot is kept
// fresh like a running one: another live subscriber does not reclaim it
// while the handlers hold their slots for several claim idle times, so it
// is handled once, by the subscriber that read it.
//
// With two handler slots, the first subscriber reads [hold-0 quick-1],
// then [hold-1 e-0] with one free slot: hold-1 takes it and e-0 waits
// until a hold-* handler returns.
func TestWaitingEntryKeptFresh(t *testing.T) {
	rdb := client(t, "")
	prefix := uniquePrefix(t, rdb)
	const idle = 300 * time.Millisecond
	first := newBus(t, rdb, prefix, redisstream.WithConcurrency(2), redisstream.WithClaimIdle(idle))
	second := newBus(t, rdb, prefix, redisstream.WithClaimIdle(idle))
	ctx := synclayertest.Within(t, 30*time.Second)
	for _, id := range []string{"hold-0", "quick-1", "hold-1", "e-0"} {
		if err := first.Publish(ctx, synclayer.Event{ID: id, Type: "Order"}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	calls := map[string][]string{}
	held := make(chan struct{}, 2)
	h := func(name string) func(context.Context, synclayer.Event) error {
		return func(_ context.Context, ev synclayer.Event) error {
			mu.Lock()
			calls[ev.ID] = append(calls[ev.ID], name)
			mu.Unlock()
			if strings.HasPrefix(ev.ID, "hold-") {
				held <- struct{}{}
				time.Sleep(7 * idle) // the long work, in a live process
			}
			return nil
		}
	}
	stops := []func() error{bustest.Subscribe(t, first, []string{"Order"}, h("first"))}
	bustest.Wait(ctx, t, held, "hold-0 was not delivered")
	bustest.Wait(ctx, t, held, "hold-1 was not delivered")
	stops = append(stops, bustest.Subscribe(t, second, []string{"Order"}, h("second")))
	bustest.Eventually(ctx, t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.Contains(calls["e-0"], "first")
	}, "the first subscriber never handled e-0")
	for _, stop := range stops {
		if err := stop(); err != nil {
			t.Errorf("Subscribe: %v", err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if got := calls["e-0"]; len(got) != 1 {
		t.Fatalf("e-0 was handled by %v; want once, by the first subscriber (taken from it while it waited for a slot)", got)
	}
}
