package monitor

import (
	"errors"
	"net/http"

	"github.com/hmsplatform/synclayer"
)

// serveControl pauses or resumes the connector name (action "pause" or
// "resume") and answers the resumed routes' results. Resume lets the
// connector go before it reads its queue, so a queue that cannot be read
// answers 200 with the error ([Handler.stopText]). Pause fails only for a
// dispatcher without a delivery log, whose error, naming the connector, is
// shown.
func (h *Handler) serveControl(w http.ResponseWriter, r *http.Request, name, action string) {
	if err := noQuery(r.URL.RawQuery); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if _, err := h.d.Connector(name); errors.Is(err, synclayer.ErrUnknownConnector) {
		writeError(w, http.StatusNotFound, "monitor: no such connector")
		return
	}
	if action == "pause" {
		err := h.d.Pause(name)
		out := ActionResult{Results: []ActionPush{}}
		if err != nil {
			out.Error = err.Error()
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	res, err := h.d.Resume(r.Context(), name)
	writeJSON(w, http.StatusOK, h.actionResult(r, res, err))
}
