package monitor

import (
	"encoding/json"
	"log/slog"
	"net/http"
)

// Error is the JSON body of every error answer.
type Error struct {
	Error string `json:"error"`
}

// writeJSON answers v as JSON with the status code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers an [Error] with the status code.
func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, Error{Error: msg})
}

// errLogText answers a delivery log that could not be read; the cause is
// not sent (a database error can name a host, a user or SQL).
const errLogText = "monitor: the delivery log cannot be read"

// unavailable answers 503 with text, which names what could not be read,
// and gives err, the cause, which the answer never carries, to the
// handler's logger ([WithLogger]).
func (h *Handler) unavailable(w http.ResponseWriter, r *http.Request, text string, err error) {
	h.logCause(r, slog.LevelError, text, err)
	writeError(w, http.StatusServiceUnavailable, text)
}

// logCause gives err, the cause of the answer text to r, which the
// answer does not carry, to the handler's logger ([WithLogger]).
func (h *Handler) logCause(r *http.Request, level slog.Level, text string, err error) {
	if h.log != nil {
		h.log.LogAttrs(r.Context(), level, text,
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("error", err))
	}
}
