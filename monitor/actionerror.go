package monitor

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/hmsplatform/synclayer"
)

// The texts a write action answers in place of an error that can carry
// what a client must not see (a database host, a user, SQL, a broker's
// address). The error itself goes to the [WithLogger] logger.
const (
	// The action stopped part way ([ActionResult].Error).
	errStoppedLog     = "monitor: stopped: the delivery log cannot be read"
	errStoppedStore   = "monitor: stopped: the idempotency store failed"
	errStoppedPublish = "monitor: stopped: an announcement could not be published"
	errStoppedRoute   = "monitor: stopped: a letter's event type is no longer routed to its connector"
	errStoppedRequest = "monitor: stopped: the request ended"

	// One push failed before it reached the partner ([ActionPush].Error).
	errPushStore = "monitor: the idempotency store failed"
	errPushLog   = "monitor: the delivery log cannot keep the push"
	errPushOther = "monitor: the push failed before it reached the partner"
)

// actionResult is the body of a write action that made the pushes res and
// stopped on err (nil when it finished). See [Handler.stopText] and
// [Handler.pushText] for the error texts.
func (h *Handler) actionResult(r *http.Request, res []synclayer.Result, err error) ActionResult {
	out := ActionResult{Results: make([]ActionPush, len(res))}
	for i, p := range res {
		out.Results[i] = ActionPush{Connector: p.Connector, Key: p.Key, Status: p.Status.String(), Attempts: p.Attempts}
		if p.Err != nil {
			out.Results[i].Error = h.pushText(r, p.Err)
		}
	}
	if err != nil {
		out.Error = h.stopText(r, err)
	}
	return out
}

// stopText is the text of the error that stopped a write action part way:
// a fixed text naming what failed, never the error's own, which goes to
// the logger. What failed is found by the error's type: the idempotency
// store ([synclayer.ErrStore]), an announcement ([synclayer.ErrPublish]),
// the request's context, a letter whose route is gone
// ([synclayer.ErrUnknownConnector]); anything else is the delivery log.
func (h *Handler) stopText(r *http.Request, err error) string {
	var text string
	switch {
	case errors.Is(err, synclayer.ErrStore):
		text = errStoppedStore
	case errors.Is(err, synclayer.ErrPublish):
		text = errStoppedPublish
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		text = errStoppedRequest
	case errors.Is(err, synclayer.ErrUnknownConnector):
		text = errStoppedRoute
	default:
		text = errStoppedLog
	}
	h.logCause(r, slog.LevelError, text, err)
	return text
}

// pushText is the text of one push's error. A push that failed in its
// mapping, at the partner or waiting for its key ([synclayer.SyncError]
// Op "map", "sync" or "wait for key") shows its error: the mapper's or
// the partner's answer, which the connectors keep free of secrets. A push
// that failed in the idempotency store (an error wrapping
// [synclayer.ErrStore], even beside the partner's answer), or in the
// delivery log (Op "hold"), or anywhere else, shows a fixed text, and its
// error goes to the logger.
func (h *Handler) pushText(r *http.Request, err error) string {
	var se *synclayer.SyncError
	isSync := errors.As(err, &se)
	var text string
	switch {
	case errors.Is(err, synclayer.ErrStore):
		text = errPushStore
	case !isSync:
		text = errPushOther
	case se.Op == "map", se.Op == "sync", se.Op == "wait for key":
		return err.Error()
	case se.Op == "hold":
		text = errPushLog
	default:
		text = errPushOther
	}
	h.logCause(r, slog.LevelWarn, text, err)
	return text
}
