package synclayer

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Observer hears every attempt and every result of the dispatcher, to log,
// count or trace them. Its methods are called synchronously on the push
// path, from many goroutines at once: they must be fast and safe for
// concurrent use, and must not retain the Event's Data beyond the call.
//
// Extra hooks are extra interfaces an Observer may implement, found by type
// assertion, so this one never grows.
type Observer interface {
	// ObserveAttempt is called after each call of Connector.Sync.
	ObserveAttempt(ctx context.Context, a Attempt)
	// ObserveResult is called once per route of each dispatched event,
	// including Duplicate and Stale routes that made no attempt.
	ObserveResult(ctx context.Context, ev Event, r Result)
}

// Attempt describes one call of Connector.Sync.
type Attempt struct {
	Event     Event
	Connector string
	Key       string
	Attempt   int           // 1 for the first attempt
	Start     time.Time     // when the attempt began
	Duration  time.Duration // how long Sync took
	Err       error         // nil on success
	// Wait is how long the dispatcher waits before the next attempt; 0 when
	// there is none (success, a permanent error, or the policy gave up).
	Wait time.Duration
}

// combine makes one observer of obs for [WithObserver]: nil when none is
// given (the default), NoObserver when only NoObserver is, the observer
// itself when there is one, else one that calls each in order.
func combine(obs []Observer) Observer {
	var list multiObserver
	off := false
	for _, o := range obs {
		switch o {
		case nil:
		case NoObserver:
			off = true
		default:
			list = append(list, o)
		}
	}
	switch {
	case len(list) == 0 && off:
		return NoObserver
	case len(list) == 0:
		return nil
	case len(list) == 1:
		return list[0]
	}
	return list
}

type multiObserver []Observer

func (m multiObserver) ObserveAttempt(ctx context.Context, a Attempt) {
	for _, o := range m {
		o.ObserveAttempt(ctx, a)
	}
}

func (m multiObserver) ObserveResult(ctx context.Context, ev Event, r Result) {
	for _, o := range m {
		o.ObserveResult(ctx, ev, r)
	}
}

// ObserveBreaker forwards to the observers that implement BreakerObserver.
func (m multiObserver) ObserveBreaker(ctx context.Context, connector string, from, to BreakerState) {
	for _, o := range m {
		if bo, ok := o.(BreakerObserver); ok {
			bo.ObserveBreaker(ctx, connector, from, to)
		}
	}
}

// StartEvent forwards to the observers that implement EventObserver, in
// order, each seeing the context the previous returned.
func (m multiObserver) StartEvent(ctx context.Context, ev Event) context.Context {
	for _, o := range m {
		if eo, ok := o.(EventObserver); ok {
			ctx = eo.StartEvent(ctx, ev)
		}
	}
	return ctx
}

// EndEvent forwards to the observers that implement EventObserver, in
// reverse order.
func (m multiObserver) EndEvent(ctx context.Context, rep Report) {
	for i := len(m) - 1; i >= 0; i-- {
		if eo, ok := m[i].(EventObserver); ok {
			eo.EndEvent(ctx, rep)
		}
	}
}

// LogObserver returns the default [Observer]: it writes one record per
// attempt and one per result at Debug level, and a result that failed at
// Warn, with the event id and type, connector, key, attempt, duration,
// status and error. A route that succeeds costs nothing unless Debug is on,
// so a library default never floods the caller's log. A failure caused by
// a panic also carries the panic's value (attribute "panic"), which is kept
// out of error texts and announcements. A nil logger discards.
// Connectors are expected to keep secrets out of their errors (see
// internal/httpx); the observer logs no payloads.
func LogObserver(l *slog.Logger) Observer {
	if l == nil {
		return nil
	}
	return logObserver{l: l}
}

type logObserver struct{ l *slog.Logger }

func (o logObserver) ObserveAttempt(ctx context.Context, a Attempt) {
	if !o.l.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{
		slog.String("event_id", a.Event.ID),
		slog.String("event_type", a.Event.Type),
		slog.String("connector", a.Connector),
		slog.String("key", a.Key),
		slog.Int("attempt", a.Attempt),
		slog.Duration("duration", a.Duration),
	}
	if a.Err != nil {
		attrs = append(attrs, slog.String("error", a.Err.Error()), slog.Duration("retry_in", a.Wait))
	}
	o.l.LogAttrs(ctx, slog.LevelDebug, "synclayer: attempt", attrs...)
}

func (o logObserver) ObserveResult(ctx context.Context, ev Event, r Result) {
	level := slog.LevelDebug
	if r.Status == StatusFailed {
		level = slog.LevelWarn
	}
	if !o.l.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("event_id", ev.ID),
		slog.String("event_type", ev.Type),
		slog.String("connector", r.Connector),
		slog.String("key", r.Key),
		slog.String("status", r.Status.String()),
		slog.Int("attempts", r.Attempts),
		slog.Duration("duration", r.Duration),
	}
	if r.Err != nil {
		attrs = append(attrs, slog.String("error", r.Err.Error()))
		var p *PanicError
		if errors.As(r.Err, &p) {
			attrs = append(attrs, slog.String("panic", p.Value))
		}
	}
	o.l.LogAttrs(ctx, level, "synclayer: result", attrs...)
}

// EventObserver is an optional extension of [Observer] for tracing: the
// dispatcher calls StartEvent before it works on an event and uses the
// returned context for the event's routes and attempts, then calls EndEvent
// with the report.
type EventObserver interface {
	StartEvent(ctx context.Context, ev Event) context.Context
	EndEvent(ctx context.Context, rep Report)
}
