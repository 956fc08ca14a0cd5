package monitor

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/hmsplatform/synclayer/internal/option"
)

// Backlog reports a queue's size and its oldest item.
type Backlog interface {
	Backlog(ctx context.Context) (n int64, oldest time.Time, err error)
}

// WithBacklog shows a queue the service keeps besides the dispatcher, such
// as a transactional outbox, under name: its size and the age of its
// oldest item, in the status, api/backlogs and on the page. Repeatable;
// names must differ (default: no backlogs). An empty or unprintable name,
// a nil b or a name given twice is an error. The handler asks b at most
// once a second, with a timeout of five seconds.
func WithBacklog(name string, b Backlog) Option {
	return func(h *Handler) error {
		const opt = "WithBacklog"
		switch {
		case name == "" || b == nil:
			return option.Invalid(opt, echo(name), "needs a name and a Backlog")
		case checkText("backlog name", name) != nil:
			return option.Invalid(opt, echo(name), "the name is not printable text")
		}
		for _, q := range h.queues.list {
			if q.name == name {
				return option.Invalid(opt, name, "the name is added twice")
			}
		}
		h.queues.list = append(h.queues.list, queue{name, b})
		return nil
	}
}

// QueueStatus is one backlog's state.
type QueueStatus struct {
	Name  string `json:"name"`
	Count int64  `json:"count"`
	// Oldest is the time of the oldest item (zero when the queue is empty).
	Oldest time.Time `json:"oldest,omitzero"`
	// AgeSeconds is how long the oldest item has waited (0 when empty).
	AgeSeconds float64 `json:"ageSeconds"`
	// Error is set, and Count is -1, when the queue could not be read. It
	// says only that: the cause may name the database.
	Error string `json:"error,omitempty"`
}

type queue struct {
	name string
	b    Backlog
}

// queues asks the backlogs, at most once per maxAge.
type queues struct {
	list []queue

	mu   sync.Mutex
	at   time.Time
	last []QueueStatus
}

const (
	queueMaxAge  = time.Second
	queueTimeout = 5 * time.Second
)

// status returns every backlog's state, read anew when the last reading
// is older than queueMaxAge.
func (q *queues) status(ctx context.Context, now time.Time) []QueueStatus {
	if len(q.list) == 0 {
		return []QueueStatus{}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.last != nil && now.Sub(q.at) < queueMaxAge {
		return q.last
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), queueTimeout)
	defer cancel()
	out := make([]QueueStatus, len(q.list))
	for i, qu := range q.list {
		n, oldest, err := qu.b.Backlog(ctx)
		s := QueueStatus{Name: qu.name, Count: n, Oldest: oldest}
		switch {
		case err != nil:
			s = QueueStatus{Name: qu.name, Count: -1, Error: "monitor: backlog unavailable"}
		case n > 0 && !oldest.IsZero():
			s.AgeSeconds = max(0, now.Sub(oldest).Seconds())
		}
		out[i] = s
	}
	q.at, q.last = now, out
	return out
}

// QueuePage is the body of GET api/backlogs.
type QueuePage struct {
	Backlogs []QueueStatus `json:"backlogs"`
}

func (h *Handler) serveBacklogs(w http.ResponseWriter, r *http.Request) {
	if err := noQuery(r.URL.RawQuery); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, QueuePage{Backlogs: h.queues.status(r.Context(), h.now())})
}
