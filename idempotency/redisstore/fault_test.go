package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hmsplatform/synclayer/idempotency"
	"github.com/hmsplatform/synclayer/idempotency/internal/storetest"
	"github.com/hmsplatform/synclayer/idempotency/redisstore"
	"github.com/hmsplatform/synclayer/internal/testenv"
)

// Killing the store's connection while its claim waits on the server (the
// server paused with CLIENT PAUSE WRITE) gives an error naming the
// operation, never a false "done", and the store answers truly again once
// Redis is back.
func TestConnectionKilledMidClaim(t *testing.T) {
	p := newPausable(t, "synclayertest-kill-")
	storetest.ClaimKilled(t, p.s, func() func() { return p.pause(t) },
		func() { p.kill(t, "the claim", "") }, "redisstore: claim")
}

// pausable is a store over a client of its own name, beside an admin
// client that pauses the server's writes and kills the store's connection
// while it waits on the pause.
type pausable struct {
	s     *redisstore.Store
	admin *redis.Client
	name  string
}

// newPausable opens a pausable store under a prefix made of namePrefix and
// the time, removed at the end of the test.
func newPausable(t *testing.T, namePrefix string) *pausable {
	t.Helper()
	name := namePrefix + strconv.FormatInt(time.Now().UnixNano(), 36)
	removePrefix(t, name+":")
	client := redis.NewClient(&redis.Options{Addr: testenv.Redis.Need(t), ClientName: name, MaxRetries: -1})
	t.Cleanup(func() { client.Close() })
	s, err := redisstore.New(client, redisstore.WithPrefix(name+":"))
	if err != nil {
		t.Fatal(err)
	}
	return &pausable{s: s, admin: newClient(t), name: name}
}

// pause pauses the server's writes for at most 5s and returns the
// function that ends the pause, which also runs at the end of the test.
func (p *pausable) pause(t *testing.T) (unpause func()) {
	t.Helper()
	ctx := context.Background()
	if err := p.admin.Do(ctx, "CLIENT", "PAUSE", 5000, "WRITE").Err(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	unpause = func() {
		once.Do(func() {
			if err := p.admin.Do(ctx, "CLIENT", "UNPAUSE").Err(); err != nil {
				t.Errorf("unpause: %v", err)
			}
		})
	}
	t.Cleanup(unpause)
	return unpause
}

// kill waits until a connection of the store other than the one with id
// skip is blocked on the pause, kills it, and returns its id.
func (p *pausable) kill(t *testing.T, what, skip string) string {
	t.Helper()
	var id string
	waitFor(t, what+" blocked on the paused server", func() bool {
		id = p.blocked(t)
		return id != "" && id != skip
	})
	if err := p.admin.Do(context.Background(), "CLIENT", "KILL", "ID", id).Err(); err != nil {
		t.Fatal(err)
	}
	return id
}

// blocked returns the id of the store's connection if it is blocked (by
// the pause), else "".
func (p *pausable) blocked(t *testing.T) string {
	t.Helper()
	list, err := p.admin.ClientList(context.Background()).Result()
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
		if fields["name"] == p.name && strings.Contains(fields["flags"], "b") {
			return fields["id"]
		}
	}
	return ""
}

// A script reply of another shape than the store's scripts give (too
// short, too long, of other types, an unknown status) is an error that
// wraps ErrNoAnswer and names the operation, connector and key, for a lone
// call and for calls in a batch; never a panic and never a status. The
// replies are rewritten on their way from the server by a client hook.
func TestMalformedReplies(t *testing.T) {
	claimReplies := []any{
		[]any{int64(3), "0"}, // busy without the lease's time left
		[]any{int64(1)},
		[]any{},
		nil,
		"OK",
		int64(4),
		[]any{int64(9), "0"},
		[]any{int64(2), "x"},
		[]any{"4", "0"},
		[]any{int64(4), int64(0)},
		[]any{int64(4), "0", int64(5)},
		[]any{int64(3), "0", "soon"},
	}
	s, hook := openStore(t)
	ctx := t.Context()
	check := func(t *testing.T, op, key string, err error) {
		t.Helper()
		want := fmt.Sprintf("redisstore: %s of connector \"conn\", key %q", op, key)
		if !errors.Is(err, redisstore.ErrNoAnswer) {
			t.Errorf("%s: error %v, want ErrNoAnswer", op, err)
		} else if !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: error %q, want it to begin %q", op, err, want)
		}
	}
	for i, reply := range claimReplies {
		t.Run(fmt.Sprintf("claim %#v", reply), func(t *testing.T) {
			hook.setMutate(func(cmd *redis.Cmd) { cmd.SetVal(reply) })
			defer hook.setMutate(nil)
			r, err := s.Claim(ctx, claimOf(fmt.Sprintf("k%d", i), "e", 1))
			if r.Status != 0 || r.Token != "" {
				t.Errorf("claim returned %+v beside its error", r)
			}
			check(t, "claim", fmt.Sprintf("k%d", i), err)
		})
	}
	for _, tc := range []struct {
		op    string
		reply any
		call  func(c idempotency.Claim) error
	}{
		{"complete", int64(0), func(c idempotency.Claim) error { return s.Complete(ctx, c, "t") }},
		{"complete", []any{}, func(c idempotency.Claim) error { return s.Complete(ctx, c, "t") }},
		{"release", int64(2), func(c idempotency.Claim) error { return s.Release(ctx, c, "t") }},
		{"release", "1", func(c idempotency.Claim) error { return s.Release(ctx, c, "t") }},
		{"renew", int64(-1), func(c idempotency.Claim) error {
			ok, err := s.Renew(ctx, c, "t")
			if ok {
				t.Error("renew returned true beside an error")
			}
			return err
		}},
		{"renew", nil, func(c idempotency.Claim) error { _, err := s.Renew(ctx, c, "t"); return err }},
	} {
		t.Run(fmt.Sprintf("%s %#v", tc.op, tc.reply), func(t *testing.T) {
			hook.setMutate(func(cmd *redis.Cmd) { cmd.SetVal(tc.reply) })
			defer hook.setMutate(nil)
			check(t, tc.op, "k", tc.call(claimOf("k", "e", 1)))
		})
	}

	// In a batch: eight claims gather behind a held one, and every reply
	// of their round trip is short.
	t.Run("batch", func(t *testing.T) {
		first, release := hook.claimHeld(ctx, s, claimOf("first", "e", 1))
		defer release()
		wait := goClaims(ctx, s, 8, "e", failed)
		waitFor(t, "8 calls waiting", func() bool { return redisstore.Waiting(s) == 8 })
		hook.setMutate(func(cmd *redis.Cmd) { cmd.SetVal([]any{int64(3), "0"}) })
		defer hook.setMutate(nil)
		release()
		check(t, "claim", "first", <-first) // its reply, read after the release, is rewritten too
		for i, err := range wait() {
			check(t, "claim", fmt.Sprintf("b%d", i), err)
		}
	})
}

// Killing the connection of a batch while it waits on the server (paused
// with CLIENT PAUSE WRITE) fails the calls of that batch, each with an
// error naming its operation and key, and only them: the claim killed
// before it failed on its own, and once Redis is back every key is free,
// as no killed script ever ran. The batch carries the 8 claims that
// gathered and the Release of the killed claim's token (it might have run).
func TestConnectionKilledMidBatch(t *testing.T) {
	p := newPausable(t, "synclayertest-killbatch-")
	s := p.s
	ctx := context.Background()
	unpause := p.pause(t)
	first := goClaim(ctx, s, claimOf("a", "ea", 1), claimErr)
	waitFor(t, "the first claim blocked", func() bool { return p.blocked(t) != "" })
	wait := goClaims(ctx, s, 8, "eb", failed)
	waitFor(t, "8 calls waiting", func() bool { return redisstore.Waiting(s) == 8 })
	firstConn := p.kill(t, "the first claim", "")
	if err := <-first; err == nil || !strings.HasPrefix(err.Error(), `redisstore: claim of connector "conn", key "a"`) {
		t.Errorf("the killed lone claim: %v, want a named error", err)
	}
	p.kill(t, "the batch", firstConn)
	for i, err := range wait() {
		want := fmt.Sprintf(`redisstore: claim of connector "conn", key "b%d", event "eb" (in a round trip of 9 operations): `, i)
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("claim %d of the killed batch: %v, want an error beginning %q", i, err, want)
		}
	}
	unpause()
	mustClaim(t, s, claimOf("a", "ea", 1), idempotency.ClaimAcquired)
	for i := range 8 {
		mustClaim(t, s, claimOf(fmt.Sprintf("b%d", i), "eb", 1), idempotency.ClaimAcquired)
	}
}
