package monitor

import (
	"net/http"
	"net/url"
	"strings"
)

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

// apiGets are the routes api/{name} that only read.
var apiGets = map[string]func(*Handler, http.ResponseWriter, *http.Request){
	"status":       (*Handler).serveStatus,
	"deliveries":   (*Handler).serveDeliveries,
	"dead-letters": (*Handler).serveDeadLetters,
	"backlogs":     (*Handler).serveBacklogs,
	"stream":       (*Handler).serveStream,
	"token":        (*Handler).serveToken,
	"freshness":    (*Handler).serveFreshness,
}

func (h *Handler) serveAPI(w http.ResponseWriter, r *http.Request, segs []string) {
	read := r.Method == http.MethodGet || r.Method == http.MethodHead
	switch {
	case len(segs) == 1 && apiGets[segs[0]] != nil:
		h.get(w, r, func(w http.ResponseWriter, r *http.Request) { apiGets[segs[0]](h, w, r) })
	case len(segs) == 2 && segs[0] == "events":
		h.get(w, r, func(w http.ResponseWriter, r *http.Request) { h.serveEvent(w, r, segs[1]) })
	case len(segs) == 2 && segs[0] == "freshness":
		h.get(w, r, func(w http.ResponseWriter, r *http.Request) { h.serveConnectorFreshness(w, r, segs[1]) })
	case len(segs) == 1 && segs[0] == "replay" && read:
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
