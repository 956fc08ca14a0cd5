package monitor

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hmsplatform/synclayer"
)

//go:embed assets
var assets embed.FS

var page = template.Must(template.ParseFS(assets, "assets/index.html"))

// Option configures a [Handler].
type Option func(*Handler) error

// WithWrites enables the write actions: replay, pause and resume (default:
// disabled; they answer 403).
func WithWrites(enabled bool) Option {
	return func(h *Handler) error { h.writes = enabled; return nil }
}

// WithTitle sets the dashboard's title (default "synclayer").
func WithTitle(title string) Option {
	return func(h *Handler) error { h.title = title; return nil }
}

// WithRateWindow sets the span over which throughput and error rates are
// computed (default one minute).
func WithRateWindow(d time.Duration) Option {
	return func(h *Handler) error {
		if d <= 0 {
			return fmt.Errorf("monitor: rate window %v is not positive", d)
		}
		h.rates.window = d
		return nil
	}
}

// WithStatusInterval sets how often the live stream sends the connectors'
// status (default 2s).
func WithStatusInterval(d time.Duration) Option {
	return func(h *Handler) error {
		if d <= 0 {
			return fmt.Errorf("monitor: status interval %v is not positive", d)
		}
		h.statusEvery = d
		return nil
	}
}

// WithTrustedOrigin lets write actions come from a page of another origin
// (scheme://host[:port]), such as a separate admin front end. By default
// only same-origin browser requests may write.
func WithTrustedOrigin(origin string) Option {
	return func(h *Handler) error {
		if err := h.cop.AddTrustedOrigin(origin); err != nil {
			return fmt.Errorf("monitor: trusted origin: %w", err)
		}
		return nil
	}
}

// Handler serves the status API, the live stream and the dashboard of one
// [synclayer.Dispatcher]. It is safe for concurrent use. It starts no
// goroutine of its own: each live stream runs on its request's goroutine
// and ends when the client goes, when the request's context ends, or at
// [Handler.Close].
type Handler struct {
	d           *synclayer.Dispatcher
	writes      bool
	title       string
	statusEvery time.Duration
	rates       rates
	cop         *http.CrossOriginProtection
	secret      [32]byte

	closeOnce sync.Once
	done      chan struct{}
}

// New returns the monitor of d. It panics if d is nil or an option is
// invalid, as both are programming errors.
func New(d *synclayer.Dispatcher, opts ...Option) *Handler {
	if d == nil {
		panic("monitor: nil Dispatcher")
	}
	h := &Handler{
		d:           d,
		title:       "synclayer",
		statusEvery: 2 * time.Second,
		rates:       rates{window: time.Minute},
		cop:         http.NewCrossOriginProtection(),
		done:        make(chan struct{}),
	}
	if _, err := rand.Read(h.secret[:]); err != nil {
		panic("monitor: " + err.Error())
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(h); err != nil {
			panic(err)
		}
	}
	return h
}

// Close ends the live streams being served, and refuses new ones. The
// other routes keep working.
func (h *Handler) Close() error {
	h.closeOnce.Do(func() { close(h.done) })
	return nil
}

// Error is the JSON body of every error answer.
type Error struct {
	Error string `json:"error"`
}

// ServeHTTP implements [http.Handler].
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			writeError(w, http.StatusInternalServerError, "monitor: internal error")
		}
	}()
	hd := w.Header()
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-store")

	segs, ok := splitPath(r.URL.EscapedPath())
	if !ok {
		writeError(w, http.StatusNotFound, "monitor: not found")
		return
	}
	switch {
	case len(segs) == 0:
		h.get(w, r, h.servePage)
	case len(segs) == 2 && segs[0] == "assets":
		h.get(w, r, func(w http.ResponseWriter, r *http.Request) { serveAsset(w, r, segs[1]) })
	case len(segs) >= 2 && segs[0] == "api":
		h.serveAPI(w, r, segs[1:])
	default:
		writeError(w, http.StatusNotFound, "monitor: not found")
	}
}

func (h *Handler) serveAPI(w http.ResponseWriter, r *http.Request, segs []string) {
	switch {
	case len(segs) == 1 && segs[0] == "status":
		h.get(w, r, h.serveStatus)
	case len(segs) == 1 && segs[0] == "deliveries":
		h.get(w, r, h.serveDeliveries)
	case len(segs) == 1 && segs[0] == "dead-letters":
		h.get(w, r, h.serveDeadLetters)
	case len(segs) == 1 && segs[0] == "stream":
		h.get(w, r, h.serveStream)
	case len(segs) == 2 && segs[0] == "events":
		h.get(w, r, func(w http.ResponseWriter, r *http.Request) { h.serveEvent(w, r, segs[1]) })
	case len(segs) == 1 && segs[0] == "replay":
		h.post(w, r, h.serveReplay)
	case len(segs) == 3 && segs[0] == "connectors" && (segs[2] == "pause" || segs[2] == "resume"):
		h.post(w, r, func(w http.ResponseWriter, r *http.Request) { h.serveControl(w, r, segs[1], segs[2]) })
	default:
		writeError(w, http.StatusNotFound, "monitor: not found")
	}
}

// splitPath splits an escaped path into unescaped segments. It refuses
// empty, "." and ".." segments and segments that do not unescape.
func splitPath(p string) ([]string, bool) {
	p = strings.TrimPrefix(p, "/")
	if p == "" {
		return nil, true
	}
	raw := strings.Split(p, "/")
	segs := make([]string, len(raw))
	for i, s := range raw {
		u, err := url.PathUnescape(s)
		if err != nil || u == "" || u == "." || u == ".." {
			return nil, false
		}
		segs[i] = u
	}
	return segs, true
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request, fn http.HandlerFunc) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "monitor: method "+r.Method+" not allowed")
		return
	}
	fn(w, r)
}

// post runs a write action after checking that writes are enabled, the
// method, the origin and the CSRF token.
func (h *Handler) post(w http.ResponseWriter, r *http.Request, fn http.HandlerFunc) {
	if !h.writes {
		writeError(w, http.StatusForbidden, "monitor: write actions are disabled")
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeError(w, http.StatusMethodNotAllowed, "monitor: method "+r.Method+" not allowed, use POST")
		return
	}
	if err := h.cop.Check(r); err != nil {
		writeError(w, http.StatusForbidden, "monitor: cross-origin request refused")
		return
	}
	if !h.validToken(r.Header.Get(TokenHeader)) {
		writeError(w, http.StatusForbidden, "monitor: missing or invalid "+TokenHeader+" header")
		return
	}
	fn(w, r)
}

func (h *Handler) servePage(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	hd.Set("X-Frame-Options", "DENY")
	data := struct {
		Title  string
		Token  string
		Writes bool
	}{h.title, h.newToken(), h.writes}
	_ = page.Execute(w, data)
}

func serveAsset(w http.ResponseWriter, r *http.Request, name string) {
	var ctype string
	switch name {
	case "app.js":
		ctype = "text/javascript; charset=utf-8"
	case "style.css":
		ctype = "text/css; charset=utf-8"
	default:
		writeError(w, http.StatusNotFound, "monitor: not found")
		return
	}
	b, err := fs.ReadFile(assets, "assets/"+name)
	if err != nil {
		writeError(w, http.StatusNotFound, "monitor: not found")
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "no-cache")
	if r.Method != http.MethodHead {
		_, _ = w.Write(b)
	}
}

// Status is the body of GET api/status.
type Status struct {
	Time time.Time `json:"time"`
	// WindowSeconds is the span the rates were computed over; 0 when this
	// is the first sample and there are no rates yet.
	WindowSeconds float64           `json:"windowSeconds"`
	Writes        bool              `json:"writes"`
	Totals        Totals            `json:"totals"`
	Connectors    []ConnectorStatus `json:"connectors"`
}

// Rates are computed over the rate window from samples of
// [synclayer.Dispatcher.Status].
type Rates struct {
	// ThroughputPerMin: routes finished (synced, duplicate or stale) per
	// minute.
	ThroughputPerMin float64 `json:"throughputPerMin"`
	// AttemptsPerMin: calls of Connector.Sync per minute.
	AttemptsPerMin float64 `json:"attemptsPerMin"`
	// ErrorRate: the share of routes that ended failed or dead, 0 to 1.
	ErrorRate float64 `json:"errorRate"`
}

// ConnectorStatus is one connector's state, counts and rates. The counts
// are those of [synclayer.ConnectorStatus], since the dispatcher started.
type ConnectorStatus struct {
	Name string `json:"name"`
	// State is "running", "paused", "open" (breaker open) or "half_open".
	State  string `json:"state"`
	Paused bool   `json:"paused"`
	// Breaker is "closed", "open" or "half_open" ("closed" without a
	// breaker).
	Breaker   string `json:"breaker"`
	Synced    int64  `json:"synced"`
	Duplicate int64  `json:"duplicate"`
	Stale     int64  `json:"stale"`
	Failed    int64  `json:"failed"`
	Dead      int64  `json:"dead"`
	Pending   int64  `json:"pending"`
	Attempts  int64  `json:"attempts"`
	Retries   int64  `json:"retries"`
	InFlight  int64  `json:"inFlight"`
	Backlog
	Rates
}

// Totals sums the counts and rates of all connectors.
type Totals struct {
	Synced    int64 `json:"synced"`
	Duplicate int64 `json:"duplicate"`
	Stale     int64 `json:"stale"`
	Failed    int64 `json:"failed"`
	Dead      int64 `json:"dead"`
	Pending   int64 `json:"pending"`
	Attempts  int64 `json:"attempts"`
	Retries   int64 `json:"retries"`
	InFlight  int64 `json:"inFlight"`
	Backlog
	Rates
}

// Backlog is what waits in the delivery log now (up to 10,000 entries
// read; -1 when the log cannot be read).
type Backlog struct {
	// DeadLetters: dead letters and failed deliveries, waiting for replay.
	DeadLetters int `json:"deadLetters"`
	// Queued: pending deliveries, waiting for resume or a closing breaker.
	Queued int `json:"queued"`
}

func (h *Handler) status(ctx context.Context) Status {
	now := time.Now()
	cur := h.d.Status()
	base, span := h.rates.sample(now, cur)
	st := Status{Time: now, WindowSeconds: span.Seconds(), Writes: h.writes, Connectors: make([]ConnectorStatus, len(cur))}
	dead, pending, logOK := h.backlog(ctx)
	var tot, totBase synclayer.ConnectorStatus
	for i, c := range cur {
		cs := ConnectorStatus{Name: c.Name, State: "running", Paused: c.Paused, Breaker: c.Breaker.String(),
			Synced: c.Synced, Duplicate: c.Duplicate, Stale: c.Stale, Failed: c.Failed, Dead: c.Dead,
			Pending: c.Pending, Attempts: c.Attempts, Retries: c.Retries, InFlight: c.InFlight}
		switch {
		case c.Paused:
			cs.State = "paused"
		case c.Breaker == synclayer.BreakerOpen:
			cs.State = "open"
		case c.Breaker == synclayer.BreakerHalfOpen:
			cs.State = "half_open"
		}
		cs.DeadLetters, cs.Queued = dead[c.Name], pending[c.Name]
		if !logOK {
			cs.DeadLetters, cs.Queued = -1, -1
		}
		b := base[c.Name]
		cs.Rates = rateOf(c, b, span)
		st.Connectors[i] = cs
		addStatus(&tot, c)
		addStatus(&totBase, b)
	}
	st.Totals = Totals{Backlog: Backlog{DeadLetters: -1, Queued: -1}, Synced: tot.Synced, Duplicate: tot.Duplicate, Stale: tot.Stale, Failed: tot.Failed, Dead: tot.Dead,
		Pending: tot.Pending, Attempts: tot.Attempts, Retries: tot.Retries, InFlight: tot.InFlight, Rates: rateOf(tot, totBase, span)}
	if logOK {
		st.Totals.DeadLetters, st.Totals.Queued = 0, 0
		for _, n := range dead {
			st.Totals.DeadLetters += n
		}
		for _, n := range pending {
			st.Totals.Queued += n
		}
	}
	return st
}

// backlog counts, per connector, the dead letters (with failed
// deliveries) and the pending deliveries in the delivery log now.
func (h *Handler) backlog(ctx context.Context) (dead, pending map[string]int, ok bool) {
	list, err := h.d.Deliveries(ctx, synclayer.DeliveryFilter{Limit: 10_000,
		States: []synclayer.DeliveryState{synclayer.StateDead, synclayer.StateFailed, synclayer.StatePending}})
	if err != nil {
		return nil, nil, false
	}
	dead, pending = map[string]int{}, map[string]int{}
	for _, d := range list {
		if d.State == synclayer.StatePending {
			pending[d.Connector]++
		} else {
			dead[d.Connector]++
		}
	}
	return dead, pending, true
}

func (h *Handler) serveStatus(w http.ResponseWriter, r *http.Request) {
	if err := noQuery(r.URL.RawQuery); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, h.status(r.Context()))
}

func (h *Handler) serveDeliveries(w http.ResponseWriter, r *http.Request) {
	f, err := ParseFilter(r.URL.RawQuery)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	list, err := h.d.Deliveries(r.Context(), f)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "monitor: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Deliveries []synclayer.Delivery `json:"deliveries"`
	}{strip(list)})
}

func (h *Handler) serveDeadLetters(w http.ResponseWriter, r *http.Request) {
	f, err := ParseReplayFilter(r.URL.RawQuery)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	list, err := h.d.DeadLetters(r.Context(), f)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "monitor: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, struct {
		DeadLetters []synclayer.Delivery `json:"deadLetters"`
	}{strip(list)})
}

// EventOutcome is the body of GET api/events/{id}.
type EventOutcome struct {
	EventID    string               `json:"eventId"`
	EventType  string               `json:"eventType"`
	Deliveries []synclayer.Delivery `json:"deliveries"`
}

func (h *Handler) serveEvent(w http.ResponseWriter, r *http.Request, id string) {
	if err := noQuery(r.URL.RawQuery); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if checkText("event id", id) != nil {
		writeError(w, http.StatusNotFound, "monitor: no such event")
		return
	}
	list, err := h.d.Deliveries(r.Context(), synclayer.DeliveryFilter{EventID: id, Limit: 10_000})
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "monitor: "+err.Error())
		return
	}
	if len(list) == 0 {
		writeError(w, http.StatusNotFound, "monitor: no such event")
		return
	}
	writeJSON(w, http.StatusOK, EventOutcome{EventID: id, EventType: list[0].EventType, Deliveries: strip(list)})
}

// ActionResult is the body of a successful write action.
type ActionResult struct {
	// Results of the pushes the action made (replay, resume), one per
	// delivery.
	Results []ActionPush `json:"results"`
	// Error is set when the action stopped part way.
	Error string `json:"error,omitempty"`
}

// ActionPush is the outcome of one push made by a write action.
type ActionPush struct {
	Connector string `json:"connector"`
	Key       string `json:"key,omitempty"`
	Status    string `json:"status"`
	Attempts  int    `json:"attempts"`
	Error     string `json:"error,omitempty"`
}

func actionResult(res []synclayer.Result, err error) ActionResult {
	out := ActionResult{Results: make([]ActionPush, len(res))}
	for i, r := range res {
		out.Results[i] = ActionPush{Connector: r.Connector, Key: r.Key, Status: r.Status.String(), Attempts: r.Attempts}
		if r.Err != nil {
			out.Results[i].Error = r.Err.Error()
		}
	}
	if err != nil {
		out.Error = err.Error()
	}
	return out
}

func (h *Handler) serveReplay(w http.ResponseWriter, r *http.Request) {
	f, err := ParseReplayFilter(r.URL.RawQuery)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if f == (synclayer.ReplayFilter{}) && r.URL.Query().Get("all") != "1" {
		writeError(w, http.StatusBadRequest, "monitor: replay needs a filter (event, connector, type, since) or all=1")
		return
	}
	res, err := h.d.Replay(r.Context(), f)
	writeJSON(w, http.StatusOK, actionResult(res, err))
}

func (h *Handler) serveControl(w http.ResponseWriter, r *http.Request, name, action string) {
	if err := noQuery(r.URL.RawQuery); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var res []synclayer.Result
	var err error
	if action == "pause" {
		err = h.d.Pause(name)
	} else {
		res, err = h.d.Resume(r.Context(), name)
	}
	if errors.Is(err, synclayer.ErrUnknownConnector) {
		writeError(w, http.StatusNotFound, "monitor: no such connector")
		return
	}
	writeJSON(w, http.StatusOK, actionResult(res, err))
}

// strip drops the source events (and their data) from deliveries.
func strip(list []synclayer.Delivery) []synclayer.Delivery {
	if list == nil {
		return []synclayer.Delivery{}
	}
	for i := range list {
		list[i].Event = nil
	}
	return list
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, Error{Error: msg})
}
