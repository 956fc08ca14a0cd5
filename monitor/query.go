package monitor

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/internal/clip"
)

// errBadQuery is wrapped by every error of [parseFilter] and
// [parseReplayFilter]; the handler answers it with 400.
var errBadQuery = errors.New("bad query")

// maxText bounds every text parameter (ids, names, keys): 1,024 bytes, the
// longest record key synclayer accepts.
const maxText = 1024

// The query parameters of the filters.
const (
	paramEvent     = "event"     // event id
	paramConnector = "connector" // connector name
	paramType      = "type"      // event type
	paramKey       = "key"       // record key
	paramState     = "state"     // delivery states, comma-separated or repeated
	paramSince     = "since"     // RFC 3339 time, or a duration back from now ("15m")
	paramLimit     = "limit"     // 1 to MaxLimit
	paramCursor    = "cursor"    // where a page starts: the "next" of the page before
	paramAll       = "all"       // replay: "1" to replay every dead letter
	paramExpect    = "expect"    // bulk replay: the count the operator confirmed
	paramAfter     = "after"     // freshness: the page starts after this key
)

// DefaultLimit is the page size of a list, and the bound of a bulk replay,
// when the query sets no limit; MaxLimit is the largest limit a query may
// set.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// parseFilter parses the query of GET api/deliveries: event, connector,
// type, key, state (names of [synclayer.Status], comma-separated or
// repeated), since (an RFC 3339 time, or a duration back from now such as
// "15m"), limit (the page size, 1 to [MaxLimit]; default [DefaultLimit])
// and cursor (the "next" of the page before, as text: the handler reads
// it). Unknown parameters,
// repeated single parameters, unknown states and malformed values are
// errors wrapping [errBadQuery].
func parseFilter(rawQuery string) (f synclayer.DeliveryFilter, c string, err error) {
	q, err := parse(rawQuery, paramEvent, paramConnector, paramType, paramKey, paramState, paramSince, paramLimit, paramCursor)
	if err != nil {
		return f, c, err
	}
	if c, err = cursorParam(q); err != nil {
		return f, c, err
	}
	f, err = deliveryFilter(q)
	return f, c, err
}

func deliveryFilter(q url.Values) (synclayer.DeliveryFilter, error) {
	r, err := replayFilter(q)
	f := synclayer.DeliveryFilter{EventID: r.EventID, Connector: r.Connector, EventType: r.EventType, Since: r.Since, Limit: r.Limit}
	if err != nil {
		return f, err
	}
	if f.Key, err = text(q, paramKey); err != nil {
		return f, err
	}
	for _, v := range q[paramState] {
		for name := range strings.SplitSeq(v, ",") {
			var st synclayer.Status
			ok := st.UnmarshalText([]byte(strings.TrimSpace(name))) == nil
			if !ok {
				return f, badQuery("unknown state %s (want pending, in_progress, synced, duplicate, stale, failed or dead)", echo(name))
			}
			if !slices.Contains(f.States, st) {
				f.States = append(f.States, st)
			}
		}
	}
	return f, nil
}

// parseReplayFilter parses the query of GET api/dead-letters: event,
// connector, type, since, limit and cursor, as [parseFilter] reads them.
func parseReplayFilter(rawQuery string) (synclayer.DeliveryFilter, string, error) {
	q, err := parse(rawQuery, paramEvent, paramConnector, paramType, paramSince, paramLimit, paramCursor)
	if err != nil {
		return synclayer.DeliveryFilter{}, "", err
	}
	c, err := cursorParam(q)
	if err != nil {
		return synclayer.DeliveryFilter{}, c, err
	}
	f, err := replayFilter(q)
	return f, c, err
}

// replayQuery is the query of GET and POST api/replay.
type replayQuery struct {
	filter synclayer.DeliveryFilter
	all    bool
	expect int // -1: not given
}

// parseReplay parses the query of api/replay: the parameters of
// [parseReplayFilter] but cursor, and all=1 and expect=N.
func parseReplay(rawQuery string) (rq replayQuery, err error) {
	rq.expect = -1
	q, err := parse(rawQuery, paramEvent, paramConnector, paramType, paramSince, paramLimit, paramAll, paramExpect)
	if err != nil {
		return rq, err
	}
	if rq.filter, err = replayFilter(q); err != nil {
		return rq, err
	}
	switch q.Get(paramAll) {
	case "":
	case "1":
		rq.all = true
	default:
		return rq, badQuery("all must be 1")
	}
	if v := q.Get(paramExpect); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > MaxLimit {
			return rq, badQuery("expect %s is not a number from 0 to %d", echo(v), MaxLimit)
		}
		rq.expect = n
	}
	return rq, nil
}

// replayFilter reads the parameters every filter takes: event,
// connector, type, since and limit.
func replayFilter(q url.Values) (synclayer.DeliveryFilter, error) {
	var f synclayer.DeliveryFilter
	for _, p := range []struct {
		name string
		to   *string
	}{{paramEvent, &f.EventID}, {paramConnector, &f.Connector}, {paramType, &f.EventType}} {
		v, err := text(q, p.name)
		if err != nil {
			return f, err
		}
		*p.to = v
	}
	var err error
	if f.Since, err = since(q); err != nil {
		return f, err
	}
	f.Limit, err = limit(q)
	return f, err
}

// holdingQuery is the query of GET api/freshness/{connector}: one key, or
// a page of keys.
type holdingQuery struct {
	byKey bool
	key   string
	after string
	limit int
}

// parseHoldingQuery parses the query of GET api/freshness/{connector}:
// key=K alone, or after= (a key) and limit (1 to [MaxLimit]; default
// [DefaultLimit]).
func parseHoldingQuery(rawQuery string) (hq holdingQuery, err error) {
	q, err := parse(rawQuery, paramKey, paramAfter, paramLimit)
	if err != nil {
		return hq, err
	}
	if q.Has(paramKey) {
		if q.Has(paramAfter) || q.Has(paramLimit) {
			return hq, badQuery("key names one entry: it takes neither after nor limit")
		}
		if hq.key, err = text(q, paramKey); err != nil {
			return hq, err
		}
		if hq.key == "" {
			return hq, badQuery("key is empty")
		}
		hq.byKey = true
		return hq, nil
	}
	if hq.after, err = text(q, paramAfter); err != nil {
		return hq, err
	}
	hq.limit, err = limit(q)
	return hq, err
}

// noQuery refuses any query on routes that take none.
func noQuery(rawQuery string) error {
	_, err := parse(rawQuery)
	return err
}

func badQuery(format string, args ...any) error {
	return fmt.Errorf("monitor: %w: %s", errBadQuery, fmt.Sprintf(format, args...))
}

// parse decodes the query and refuses parameters not in allowed and
// repeated parameters other than state.
func parse(rawQuery string, allowed ...string) (url.Values, error) {
	if len(rawQuery) > 16<<10 {
		return nil, badQuery("query of %d bytes is too long", len(rawQuery))
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, badQuery("malformed query")
	}
	for k, v := range q {
		if !slices.Contains(allowed, k) {
			return nil, badQuery("unknown parameter %s", echo(k))
		}
		if len(v) > 1 && k != paramState {
			return nil, badQuery("parameter %s given %d times", k, len(v))
		}
	}
	return q, nil
}

// text returns a text parameter, checked.
func text(q url.Values, name string) (string, error) {
	v := q.Get(name)
	if err := checkText(name, v); err != nil {
		return "", err
	}
	return v, nil
}

// checkText refuses text that is too long, not UTF-8, or holds control
// characters: no id, name or key contains them.
func checkText(name, v string) error {
	switch {
	case len(v) > maxText:
		return badQuery("%s is %d bytes, over the limit of %d", name, len(v), maxText)
	case !utf8.ValidString(v):
		return badQuery("%s is not valid UTF-8", name)
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return badQuery("%s holds control character %U", name, r)
		}
	}
	return nil
}

func since(q url.Values) (time.Time, error) {
	v := q.Get(paramSince)
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > 100*365*24*time.Hour {
		return time.Time{}, badQuery("since %s is neither an RFC 3339 time nor a duration such as 15m", echo(v))
	}
	return time.Now().Add(-d), nil
}

// limit returns the limit parameter, DefaultLimit when absent.
func limit(q url.Values) (int, error) {
	v := q.Get(paramLimit)
	if v == "" {
		return DefaultLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxLimit {
		return 0, badQuery("limit %s is not a number from 1 to %d", echo(v), MaxLimit)
	}
	return n, nil
}

// cursorParam returns the text of the cursor parameter, checked for
// size only: the handler that gave it reads it ([Handler.readCursor]).
func cursorParam(q url.Values) (string, error) {
	v := q.Get(paramCursor)
	if len(v) > maxCursorText {
		return "", badQuery("cursor of %d bytes is not the next of a page", len(v))
	}
	return v, nil
}

// echo bounds and quotes user text echoed in an error.
func echo(s string) string { return strconv.Quote(clip.String(s, 64)) }
