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
)

// ErrBadQuery is wrapped by every error of [ParseFilter] and
// [ParseReplayFilter]; the handler answers it with 400.
var ErrBadQuery = errors.New("bad query")

// maxText bounds every text parameter (ids, names, keys), as
// [synclayer.MaxKeyBytes] bounds keys.
const maxText = synclayer.MaxKeyBytes

// The query parameters of the filters.
const (
	paramEvent     = "event"     // event id
	paramConnector = "connector" // connector name
	paramType      = "type"      // event type
	paramKey       = "key"       // record key
	paramState     = "state"     // delivery states, comma-separated or repeated
	paramSince     = "since"     // RFC 3339 time, or a duration back from now ("15m")
	paramLimit     = "limit"     // 1 to 10000
	paramAll       = "all"       // replay: "1" to replay every dead letter
)

// ParseFilter parses the query of GET api/deliveries: event, connector,
// type, key, state (names of [synclayer.DeliveryState], comma-separated or
// repeated), since (an RFC 3339 time, or a duration back from now such as
// "15m") and limit (1 to 10000). Unknown parameters, repeated single
// parameters, unknown states and malformed values are errors wrapping
// [ErrBadQuery].
func ParseFilter(rawQuery string) (synclayer.DeliveryFilter, error) {
	var f synclayer.DeliveryFilter
	q, err := parse(rawQuery, paramEvent, paramConnector, paramType, paramKey, paramState, paramSince, paramLimit)
	if err != nil {
		return f, err
	}
	if f.EventID, err = text(q, paramEvent); err != nil {
		return f, err
	}
	if f.Connector, err = text(q, paramConnector); err != nil {
		return f, err
	}
	if f.EventType, err = text(q, paramType); err != nil {
		return f, err
	}
	if f.Key, err = text(q, paramKey); err != nil {
		return f, err
	}
	if f.Since, err = since(q); err != nil {
		return f, err
	}
	if f.Limit, err = limit(q); err != nil {
		return f, err
	}
	for _, v := range q[paramState] {
		for name := range strings.SplitSeq(v, ",") {
			st, ok := synclayer.ParseDeliveryState(strings.TrimSpace(name))
			if !ok {
				return f, badQuery("unknown state %s (want pending, in_progress, synced, duplicate, stale, failed or dead)", strconv.Quote(clip(name)))
			}
			if !slices.Contains(f.States, st) {
				f.States = append(f.States, st)
			}
		}
	}
	return f, nil
}

// ParseReplayFilter parses the query of GET api/dead-letters and POST
// api/replay: event, connector, type, since and limit, as [ParseFilter]
// reads them. POST api/replay also takes all=1.
func ParseReplayFilter(rawQuery string) (synclayer.ReplayFilter, error) {
	var f synclayer.ReplayFilter
	q, err := parse(rawQuery, paramEvent, paramConnector, paramType, paramSince, paramLimit, paramAll)
	if err != nil {
		return f, err
	}
	if f.EventID, err = text(q, paramEvent); err != nil {
		return f, err
	}
	if f.Connector, err = text(q, paramConnector); err != nil {
		return f, err
	}
	if f.EventType, err = text(q, paramType); err != nil {
		return f, err
	}
	if f.Since, err = since(q); err != nil {
		return f, err
	}
	if f.Limit, err = limit(q); err != nil {
		return f, err
	}
	if all, err := text(q, paramAll); err != nil {
		return f, err
	} else if all != "" && all != "1" {
		return f, badQuery("all must be 1")
	}
	return f, nil
}

// noQuery refuses any query on routes that take none.
func noQuery(rawQuery string) error {
	_, err := parse(rawQuery)
	return err
}

func badQuery(format string, args ...any) error {
	return fmt.Errorf("monitor: %w: %s", ErrBadQuery, fmt.Sprintf(format, args...))
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
			return nil, badQuery("unknown parameter %s", strconv.Quote(clip(k)))
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
		return time.Time{}, badQuery("since %s is neither an RFC 3339 time nor a duration such as 15m", strconv.Quote(clip(v)))
	}
	return time.Now().Add(-d), nil
}

func limit(q url.Values) (int, error) {
	v := q.Get(paramLimit)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 10_000 {
		return 0, badQuery("limit %s is not a number from 1 to 10000", strconv.Quote(clip(v)))
	}
	return n, nil
}

// clip bounds user text echoed in an error.
func clip(s string) string {
	if len(s) <= 64 {
		return s
	}
	i := 64
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "..."
}
