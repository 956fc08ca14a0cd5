package redisstore_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency/redisstore"
	"github.com/hmsplatform/synclayer/internal/testenv"
)

// Killing the store's connection while its claim waits on the server (the
// server paused with CLIENT PAUSE WRITE) gives an error naming the
// operation, never a false "done", and the store answers truly again once
// Redis is back.
func TestConnectionKilledMidClaim(t *testing.T) {
	addr := testenv.Redis.Need(t)
	name := "synclayertest-kill-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	prefix := name + ":"
	removePrefix(t, prefix)
	client := redis.NewClient(&redis.Options{Addr: addr, ClientName: name, MaxRetries: -1})
	defer client.Close()
	admin := newClient(t)
	s, err := redisstore.New(client, redisstore.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c := synclayer.Claim{Connector: "c", Key: "k", EventID: "e1", Version: 2, LeaseTTL: time.Minute, Retention: time.Hour}
	r, err := s.Claim(ctx, c)
	if err != nil || r.Status != synclayer.ClaimAcquired {
		t.Fatalf("claim: %v, %v", r.Status, err)
	}
	if err := s.Complete(ctx, c, r.Token); err != nil {
		t.Fatal(err)
	}

	if err := admin.Do(ctx, "CLIENT", "PAUSE", 5000, "WRITE").Err(); err != nil {
		t.Fatal(err)
	}
	unpaused := false
	unpause := func() {
		if !unpaused {
			unpaused = true
			if err := admin.Do(ctx, "CLIENT", "UNPAUSE").Err(); err != nil {
				t.Errorf("unpause: %v", err)
			}
		}
	}
	defer unpause()

	type outcome struct {
		r   synclayer.ClaimResult
		err error
	}
	got := make(chan outcome, 1)
	go func() {
		r, err := s.Claim(ctx, c)
		got <- outcome{r, err}
	}()
	// Find the store's connection once it waits on the pause, and kill it.
	deadline := time.Now().Add(4 * time.Second)
	for {
		id := blockedClient(t, admin, name)
		if id != "" {
			if err := admin.Do(ctx, "CLIENT", "KILL", "ID", id).Err(); err != nil {
				t.Fatal(err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the claim never waited on the paused server")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case o := <-got:
		if o.err == nil {
			t.Fatalf("claim on a killed connection returned %v and no error", o.r.Status)
		}
		if o.r.Status != 0 {
			t.Errorf("claim on a killed connection returned status %v beside its error", o.r.Status)
		}
		if !strings.HasPrefix(o.err.Error(), "redisstore: claim") {
			t.Errorf("error %q does not name the package and operation", o.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("claim on a killed connection did not return")
	}
	unpause()
	r, err = s.Claim(ctx, c)
	if err != nil || r.Status != synclayer.ClaimDone {
		t.Errorf("claim after Redis is back: %v, %v; want done", r.Status, err)
	}
}

// blockedClient returns the id of the connection named name if it is
// blocked (by the pause), else "".
func blockedClient(t *testing.T, admin *redis.Client, name string) string {
	t.Helper()
	list, err := admin.ClientList(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(list, "\n") {
		fields := map[string]string{}
		for _, f := range strings.Fields(line) {
			if k, v, ok := strings.Cut(f, "="); ok {
				fields[k] = v
			}
		}
		if fields["name"] == name && strings.Contains(fields["flags"], "b") {
			return fields["id"]
		}
	}
	return ""
}
