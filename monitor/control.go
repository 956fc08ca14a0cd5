package monitor

import (
	"errors"
	"net/http"

	"github.com/hmsplatform/synclayer"
)

// serveControl pauses or resumes the connector name (action "pause" or
// "resume") and answers the resumed routes' results.
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
