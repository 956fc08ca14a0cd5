package storetest

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency"
)

// ClaimKilled checks a claim whose connection is killed while it waits on
// the server: it returns an error beginning errPrefix, and no status, never
// a false "done"; once the server is back, the store answers truly again.
//
// It completes an event, then calls hold, which makes the server hold the
// store's next statement and returns the function that ends the hold;
// claims the done event again from another goroutine; calls kill, which
// waits until that claim is blocked and kills its connection; checks the
// claim's outcome, ends the hold (once; also if the check fails) and
// claims once more (done).
func ClaimKilled(t *testing.T, s synclayer.Store, hold func() (release func()), kill func(), errPrefix string) {
	t.Helper()
	ctx := context.Background()
	c := idempotency.Claim{Connector: "c", Key: "k", EventID: "e1", Version: 2, LeaseTTL: time.Minute, Retention: time.Hour}
	r, err := s.Claim(ctx, c)
	if err != nil || r.Status != idempotency.ClaimAcquired {
		t.Fatalf("claim: %v, %v", r.Status, err)
	}
	if err := s.Complete(ctx, c, r.Token); err != nil {
		t.Fatal(err)
	}

	var once sync.Once
	hold1 := hold()
	release := func() { once.Do(hold1) }
	defer release()
	type outcome struct {
		r   idempotency.ClaimResult
		err error
	}
	got := make(chan outcome, 1)
	go func() {
		r, err := s.Claim(ctx, c) // the done event: must not answer "done" once killed
		got <- outcome{r, err}
	}()
	kill()
	select {
	case o := <-got:
		if o.err == nil {
			t.Fatalf("claim on a killed connection returned %v and no error", o.r.Status)
		}
		if o.r.Status != 0 {
			t.Errorf("claim on a killed connection returned status %v beside its error", o.r.Status)
		}
		if !strings.HasPrefix(o.err.Error(), errPrefix) {
			t.Errorf("error %q does not start with %q", o.err, errPrefix)
		}
		t.Logf("claim on a killed connection: %v", o.err)
	case <-time.After(10 * time.Second):
		t.Fatal("claim on a killed connection did not return")
	}
	release()
	r, err = s.Claim(ctx, c)
	if err != nil || r.Status != idempotency.ClaimDone {
		t.Errorf("claim after the server is back: %v, %v; want done", r.Status, err)
	}
}
