package guarantee

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/memory"
)

// running is a Dispatcher.Run on a memory bus with a subscriber of the
// dispatcher's announcements beside it.
type running struct {
	ctx          context.Context
	bus          *memory.Bus
	closeTimeout time.Duration

	stopRun, stopAnn context.CancelFunc
	runDone, annDone chan error

	once                     sync.Once
	runErr, closeErr, annErr error
}

// runWithAnnouncements subscribes handle to the SyncCompleted and
// SyncFailed announcements on bus, then starts d.Run on bus. Stop it with
// stop, deferred too so that a failed test still leaks nothing.
func runWithAnnouncements(ctx context.Context, d *synclayer.Dispatcher, bus *memory.Bus, closeTimeout time.Duration,
	handle func(context.Context, synclayer.Event) error) *running {
	r := &running{ctx: ctx, bus: bus, closeTimeout: closeTimeout, runDone: make(chan error, 1), annDone: make(chan error, 1)}
	annCtx, stopAnn := context.WithCancel(ctx)
	r.stopAnn = stopAnn
	go func() {
		r.annDone <- bus.Subscribe(annCtx, []string{synclayer.SyncCompleted, synclayer.SyncFailed}, handle)
	}()
	runCtx, stopRun := context.WithCancel(ctx)
	r.stopRun = stopRun
	go func() { r.runDone <- d.Run(runCtx, bus) }()
	return r
}

// stop stops Run, closes the bus within the close timeout (which lets the
// announcements drain to the subscriber) and stops the subscriber. It
// does so once, and returns the errors of Run, of bus.Close and of the
// subscriber; a subscriber that Close ended (memory.ErrClosed) returns
// none.
func (r *running) stop() (runErr, closeErr, annErr error) {
	r.once.Do(func() {
		r.stopRun()
		r.runErr = <-r.runDone
		cctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), r.closeTimeout)
		r.closeErr = r.bus.Close(cctx)
		cancel()
		r.stopAnn()
		if r.annErr = <-r.annDone; errors.Is(r.annErr, memory.ErrClosed) {
			r.annErr = nil
		}
	})
	return r.runErr, r.closeErr, r.annErr
}
