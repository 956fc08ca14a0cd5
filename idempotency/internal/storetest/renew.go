package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency"
)

// RenewingStore is a store with leases that can be renewed.
type RenewingStore interface {
	synclayer.Store
	idempotency.LeaseRenewer
}

// Renew checks that Renew extends the lease its token holds, and reports
// false, changing nothing, once the token no longer holds it: with a
// made-up token, after a release, after an expiry and takeover (the new
// holder's lease stays as it was), after a complete, and with no token.
// short is the lease the test lets expire (a few hundred milliseconds).
func Renew(t *testing.T, s RenewingStore, short time.Duration) {
	t.Helper()
	ctx := context.Background()
	claim := func(key, event string, ttl time.Duration, want idempotency.ClaimStatus) (idempotency.Claim, idempotency.ClaimResult) {
		t.Helper()
		c := idempotency.Claim{Connector: "conn", Key: key, EventID: event, LeaseTTL: ttl, Retention: time.Hour}
		r, err := s.Claim(ctx, c)
		if err != nil || r.Status != want {
			t.Fatalf("claim of key %s, event %s: %v, %v; want %v", key, event, r.Status, err, want)
		}
		return c, r
	}
	renew := func(c idempotency.Claim, token string, want bool, what string) {
		t.Helper()
		if ok, err := s.Renew(ctx, c, token); err != nil || ok != want {
			t.Errorf("renew %s: %v, %v; want %v", what, ok, err, want)
		}
	}

	a, ra := claim("k1", "ea", short, idempotency.ClaimAcquired)
	a.LeaseTTL = time.Hour
	renew(a, ra.Token, true, "of a held lease")
	before := time.Now()
	if _, busy := claim("k1", "eb", time.Minute, idempotency.ClaimBusy); busy.Expires.Before(before.Add(59 * time.Minute)) {
		t.Errorf("after renewing to 1h, the lease ends at %v, %v from now", busy.Expires, time.Until(busy.Expires))
	}
	renew(a, "not-a-token", false, "with a made-up token")
	if err := s.Release(ctx, a, ra.Token); err != nil {
		t.Fatal(err)
	}
	renew(a, ra.Token, false, "after release")
	c, rc := claim("k1", "ec", time.Minute, idempotency.ClaimAcquired) // no lease came back
	if err := s.Release(ctx, c, rc.Token); err != nil {
		t.Fatal(err)
	}

	// Expired, then taken: the old holder's Renew leaves the new lease as
	// it is (1 minute, not the hour the old holder asks for).
	d, rd := claim("k2", "ed", short, idempotency.ClaimAcquired)
	e := idempotency.Claim{Connector: "conn", Key: "k2", EventID: "ee", LeaseTTL: time.Minute, Retention: time.Hour}
	var re idempotency.ClaimResult
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		if re, err = s.Claim(ctx, e); err != nil {
			t.Fatal(err)
		}
		if re.Status == idempotency.ClaimAcquired {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the expired lease was never taken: %v", re.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	d.LeaseTTL = time.Hour
	renew(d, rd.Token, false, "of an expired lease taken by another")
	if _, busy := claim("k2", "ef", time.Minute, idempotency.ClaimBusy); time.Until(busy.Expires) > 2*time.Minute {
		t.Errorf("the new holder's 1m lease now ends in %v: the old holder's Renew changed it", time.Until(busy.Expires))
	}
	renew(e, re.Token, true, "by the new holder")
	if err := s.Complete(ctx, e, re.Token); err != nil {
		t.Fatal(err)
	}
	renew(e, re.Token, false, "after complete")
	renew(e, "", false, "with no token")
}
