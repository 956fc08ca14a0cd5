package monitor

import (
	"encoding/json"
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
