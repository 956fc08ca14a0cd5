package synclayer

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hmsplatform/synclayer/internal/option"
	"golang.org/x/time/rate"
)

// Registry is the set of connectors and the event types routed to each.
// The caller owns it; there is no global registry. Register connectors
// before dispatching; registering later is allowed and takes effect for the
// next event. The zero value is an empty registry, ready to use. A
// Registry is safe for concurrent use.
type Registry struct {
	mu     sync.Mutex
	conns  []*connEntry
	types  []string // routed event types, in order of first registration
	byName map[string]*connEntry
	routes atomic.Pointer[map[string][]route] // event type -> routes, copy on write
}

// Register adds the connector c under name. The name identifies the
// connector in reports, announcements and the idempotency store, so keep it
// stable across deployments. Errors: an empty or duplicate name, a name
// starting with '$' (reserved), a nil connector, no route, or a bad option.
func (r *Registry) Register(name string, c Connector, opts ...ConnectorOption) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("synclayer: register connector %q: "+format, append([]any{name}, args...)...)
	}
	switch {
	case name == "":
		return errors.New("synclayer: register connector: empty name")
	case strings.HasPrefix(name, "$"):
		return fail("names starting with '$' are reserved")
	case c == nil:
		return fail("nil connector")
	}
	cfg := connConfig{timeout: defaultTimeout, concurrency: defaultConcurrency}
	if err := option.Apply(fmt.Sprintf("synclayer: register connector %q", name), &cfg, opts); err != nil {
		return err
	}
	if len(cfg.routes) == 0 {
		return fail("no route: add at least one Route(eventType, mapper)")
	}
	ce := &connEntry{
		name:    name,
		conn:    c,
		policy:  cfg.policy.withDefaults(),
		timeout: cfg.timeout,
		sem:     make(chan struct{}, cfg.concurrency),
		breaker: cfg.breaker,
	}
	ce.idSyncer, _ = c.(PartnerIDSyncer)
	if cfg.rateLimit > 0 {
		ce.limiter = rate.NewLimiter(cfg.rateLimit, cfg.burst)
	}
	// The lease must outlive every attempt and wait of one push.
	ce.leaseTTL = ce.policy.MaxElapsed + ce.timeout + time.Minute
	ce.locks.init()

	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.byName[name]; dup {
		return fail("name already registered")
	}
	if r.byName == nil {
		r.byName = make(map[string]*connEntry)
	}
	r.byName[name] = ce
	r.conns = append(r.conns, ce)
	var old map[string][]route
	if m := r.routes.Load(); m != nil {
		old = *m
	}
	next := make(map[string][]route, len(old)+len(cfg.routes))
	for t, rs := range old {
		next[t] = rs
	}
	for _, rt := range cfg.routes {
		rt.conn = ce
		if _, ok := next[rt.eventType]; !ok {
			r.types = append(r.types, rt.eventType)
		}
		next[rt.eventType] = append(append([]route(nil), next[rt.eventType]...), rt)
	}
	r.routes.Store(&next)
	return nil
}

// EventTypes returns the routed event types, sorted by first registration.
func (r *Registry) EventTypes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.types...)
}

// Connectors returns the registered connector names in registration order.
func (r *Registry) Connectors() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.conns))
	for i, ce := range r.conns {
		out[i] = ce.name
	}
	return out
}

// route returns the route of eventType to the named connector.
func (r *Registry) route(eventType, connector string) (*route, bool) {
	rs := r.routesFor(eventType)
	for i := range rs {
		if rs[i].conn.name == connector {
			return &rs[i], true
		}
	}
	return nil, false
}

func (r *Registry) routesFor(eventType string) []route {
	m := r.routes.Load()
	if m == nil {
		return nil
	}
	return (*m)[eventType]
}

type route struct {
	eventType string
	mapper    Mapper
	conn      *connEntry
}

// connEntry is a registered connector with its runtime state.
type connEntry struct {
	name     string
	conn     Connector
	idSyncer PartnerIDSyncer // conn, when it reports partner ids
	policy   RetryPolicy
	timeout  time.Duration
	leaseTTL time.Duration
	sem      chan struct{}
	limiter  *rate.Limiter
	locks    keyLocks
	breaker  *BreakerPolicy // nil: no breaker
}
