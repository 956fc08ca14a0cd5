package redisstore_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/hmsplatform/synclayer/idempotency"
	"github.com/hmsplatform/synclayer/idempotency/redisstore"
)

// faultHook is a go-redis hook that sees every round trip of a client
// (a single command or a pipeline) and can hold one, fail one without
// sending it, or rewrite the replies of the scripts, as a faulty server
// or network would.
type faultHook struct {
	mu     sync.Mutex
	rounds []int         // commands per round trip, in order
	hold   chan struct{} // when set, the next round trip waits for it to close
	held   chan struct{} // closed once that round trip waits
	fail   error         // when set, the next round trip fails with it, unsent
	failed []redis.Cmder // the commands of the round trip that failed
	mutate func(cmd *redis.Cmd)
}

func (h *faultHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		return next(ctx, network, addr)
	}
}

func (h *faultHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if !isScript(cmd) {
			return next(ctx, cmd)
		}
		cmds := []redis.Cmder{cmd}
		if err := h.before(cmds); err != nil {
			return err
		}
		err := next(ctx, cmd)
		h.after(cmds)
		if err == nil {
			// go-redis sets the command's error to the hook's: keep one
			// that mutate set.
			err = cmd.Err()
		}
		return err
	}
}

func (h *faultHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if len(cmds) == 0 || !isScript(cmds[0]) {
			return next(ctx, cmds)
		}
		if err := h.before(cmds); err != nil {
			return err
		}
		err := next(ctx, cmds)
		h.after(cmds)
		return err
	}
}

// before records the round trip, waits if it is to be held, and fails it
// if it is to fail (as armed when it began).
func (h *faultHook) before(cmds []redis.Cmder) error {
	h.mu.Lock()
	h.rounds = append(h.rounds, len(cmds))
	hold, held, fail := h.hold, h.held, h.fail
	h.hold, h.held, h.fail = nil, nil, nil
	if fail != nil {
		h.failed = cmds
	}
	h.mu.Unlock()
	if hold != nil {
		close(held)
		<-hold
	}
	if fail != nil {
		for _, c := range cmds {
			c.SetErr(fail)
		}
		return fail
	}
	return nil
}

func (h *faultHook) after(cmds []redis.Cmder) {
	h.mu.Lock()
	mutate := h.mutate
	h.mu.Unlock()
	if mutate == nil {
		return
	}
	for _, c := range cmds {
		if cmd, ok := c.(*redis.Cmd); ok && cmd.Err() == nil {
			mutate(cmd)
		}
	}
}

// holdNext makes the next round trip wait until the returned release is
// called; held is closed once it waits.
func (h *faultHook) holdNext() (held <-chan struct{}, release func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	hold, hd := make(chan struct{}), make(chan struct{})
	h.hold, h.held = hold, hd
	var once sync.Once
	return hd, func() { once.Do(func() { close(hold) }) }
}

// claimHeld starts a claim of c on s with ctx, whose round trip the hook
// holds, and returns once it is held, with the channel that gets the
// claim's error and the function that lets the round trip go on.
func (h *faultHook) claimHeld(ctx context.Context, s *redisstore.Store, c idempotency.Claim) (first <-chan error, release func()) {
	held, release := h.holdNext()
	ch := goClaim(ctx, s, c, claimErr)
	<-held
	return ch, release
}

// goClaim claims c on s on a goroutine, and sends on the channel what
// check makes of the claim's result: claimErr, acquired or failed.
func goClaim(ctx context.Context, s *redisstore.Store, c idempotency.Claim, check func(idempotency.ClaimResult, error) error) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- check(s.Claim(ctx, c)) }()
	return ch
}

// goClaims claims keys b0 to b<n-1> of event at version 1 on s, each on a
// goroutine (see goClaim); wait waits for them and returns what check made
// of each one's result.
func goClaims(ctx context.Context, s *redisstore.Store, n int, event string, check func(idempotency.ClaimResult, error) error) (wait func() []error) {
	chans := make([]<-chan error, n)
	for i := range chans {
		chans[i] = goClaim(ctx, s, claimOf(fmt.Sprintf("b%d", i), event, 1), check)
	}
	return func() []error {
		errs := make([]error, n)
		for i, ch := range chans {
			errs[i] = <-ch
		}
		return errs
	}
}

// claimErr is the error of a claim.
func claimErr(_ idempotency.ClaimResult, err error) error { return err }

// acquired is the error of a claim, or one saying it was not acquired.
func acquired(r idempotency.ClaimResult, err error) error {
	if err == nil && r.Status != idempotency.ClaimAcquired {
		err = fmt.Errorf("status %v, want acquired", r.Status)
	}
	return err
}

// failed is the error of a claim, or one saying it had none.
func failed(r idempotency.ClaimResult, err error) error {
	if err == nil {
		err = fmt.Errorf("status %v and no error", r.Status)
	}
	return err
}

// failNext makes the next round trip fail with err, unsent.
func (h *faultHook) failNext(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fail = err
}

// setMutate makes f rewrite the reply of every script call that succeeded.
func (h *faultHook) setMutate(f func(cmd *redis.Cmd)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.mutate = f
}

// failedCmds returns the commands of the round trip that failNext failed.
func (h *faultHook) failedCmds() []redis.Cmder {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.failed
}

// roundTrips returns the commands per round trip seen so far.
func (h *faultHook) roundTrips() []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]int(nil), h.rounds...)
}

// isScript reports whether cmd runs a script (the store's commands).
func isScript(cmd redis.Cmder) bool {
	name := strings.ToLower(cmd.Name())
	return name == "evalsha" || name == "eval"
}
