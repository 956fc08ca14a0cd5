package monitor

import (
	"crypto/rand"
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hmsplatform/synclayer"
)

//go:embed assets
var assets embed.FS

var pageTmpl = template.Must(template.ParseFS(assets, "assets/index.html"))

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

	ledger    *ledger
	stopWatch func()
	queues    queues
	streams   atomic.Int64

	closeOnce sync.Once
	done      chan struct{}
}

// New returns the monitor of d. It panics if d is nil or an option is
// invalid, as both are programming errors. The monitor follows d's
// deliveries from now on; [Handler.Close] stops that.
func New(d *synclayer.Dispatcher, opts ...Option) *Handler {
	if d == nil {
		panic("monitor: nil Dispatcher")
	}
	h := &Handler{
		d:            d,
		title:        "synclayer",
		statusEvery:  2 * time.Second,
		rates:        rates{window: time.Minute},
		cop:          http.NewCrossOriginProtection(),
		tokenTTL:     time.Hour,
		maxStreams:   64,
		writeTimeout: 10 * time.Second,
		now:          time.Now,
		ledger:       newLedger(),
		done:         make(chan struct{}),
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
	h.stopWatch = d.Watch(h.ledger.watch)
	return h
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
	if !h.admit(w, r) {
		return
	}

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
	case len(segs) == 1 && segs[0] == "backlogs":
		h.get(w, r, h.serveBacklogs)
	case len(segs) == 1 && segs[0] == "stream":
		h.get(w, r, h.serveStream)
	case len(segs) == 1 && segs[0] == "token":
		h.get(w, r, h.serveToken)
	case len(segs) == 2 && segs[0] == "events":
		h.get(w, r, func(w http.ResponseWriter, r *http.Request) { h.serveEvent(w, r, segs[1]) })
	case len(segs) == 1 && segs[0] == "replay" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		h.serveReplayPreview(w, r)
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
// method, the origin and the session's CSRF token.
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
	if err := h.cop.Check(r); err != nil || !h.originAllowed(r) {
		writeError(w, http.StatusForbidden, "monitor: cross-origin request refused")
		return
	}
	if err := h.checkToken(r); err != nil {
		writeError(w, http.StatusForbidden, err.Error())
		return
	}
	fn(w, r)
}

func (h *Handler) servePage(w http.ResponseWriter, r *http.Request) {
	if err := noQuery(r.URL.RawQuery); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	hd.Set("X-Frame-Options", "DENY")
	data := struct {
		Title  string
		Token  string
		TTL    int64
		Writes bool
	}{Title: h.title, Writes: h.writes}
	if h.writes {
		t := h.session(w, r)
		data.Token, data.TTL = t.Token, int64(t.TTLSeconds)
	}
	_ = pageTmpl.Execute(w, data)
}

// serveToken renews the session (or starts one) and returns a fresh token.
func (h *Handler) serveToken(w http.ResponseWriter, r *http.Request) {
	if err := noQuery(r.URL.RawQuery); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if !h.writes {
		writeError(w, http.StatusForbidden, "monitor: write actions are disabled")
		return
	}
	writeJSON(w, http.StatusOK, h.session(w, r))
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

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, Error{Error: msg})
}
