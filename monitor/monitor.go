package monitor

import (
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/internal/option"
)

// Handler serves the status API, the live stream and the dashboard of one
// [synclayer.Dispatcher]. It is safe for concurrent use. It starts no
// goroutine of its own: each live stream runs on its request's goroutine
// and ends when the client goes, when the request's context ends, or at
// [Handler.Close].
type Handler struct {
	d            *synclayer.Dispatcher
	writes       bool
	title        string
	statusEvery  time.Duration
	rates        rates
	cop          *http.CrossOriginProtection
	trusted      []string // trusted origins, lower case
	hosts        []hostPattern
	authorize    []func(*http.Request) error
	tokenTTL     time.Duration
	maxStreams   int64
	writeTimeout time.Duration
	secret       [32]byte
	now          func() time.Time
	log          *slog.Logger // nil: discard

	ledger    *ledger
	stopWatch func()
	queues    queues
	streams   atomic.Int64

	closeOnce sync.Once
	done      chan struct{}
}

// New returns the monitor of d. The monitor follows d's deliveries from
// now on; [Handler.Close] stops that. A nil d or an invalid option is an
// error that wraps synclayer.ErrInvalidOption.
func New(d *synclayer.Dispatcher, opts ...Option) (*Handler, error) {
	if d == nil {
		return nil, fmt.Errorf("monitor: New: %w: nil Dispatcher", option.ErrInvalid)
	}
	h := &Handler{
		d:            d,
		title:        defaultTitle,
		statusEvery:  defaultStatusInterval,
		rates:        rates{window: defaultRateWindow},
		cop:          http.NewCrossOriginProtection(),
		tokenTTL:     defaultTokenTTL,
		maxStreams:   defaultMaxStreams,
		writeTimeout: defaultStreamWriteTimeout,
		now:          time.Now,
		ledger:       newLedger(),
		done:         make(chan struct{}),
	}
	rand.Read(h.secret[:]) // never fails (crypto/rand)
	if err := option.Apply("monitor: New", h, opts); err != nil {
		return nil, err
	}
	h.stopWatch = d.Watch(h.ledger.watch)
	return h, nil
}

// Close ends the live streams being served, refuses new ones, and stops
// following the dispatcher's deliveries. The other routes keep working
// (their dead-letter counts may lag after Close).
func (h *Handler) Close() error {
	h.closeOnce.Do(func() {
		close(h.done)
		h.stopWatch()
	})
	return nil
}
