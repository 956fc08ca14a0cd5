package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/redis/go-redis/v9"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency/internal/jsontext"
)

// List implements [synclayer.DeliveryLog], newest first. A filter on both
// the event and the connector reads one key. Otherwise List walks the
// smallest index that the filter allows: the event's, the connector's,
// the states' (merged) or, with none of those, the index of all entries;
// Since bounds the walk by score. It reads the index in pages, and each
// page's entries with one MGET, and stops as soon as it has Limit entries
// (default 100, at most 10,000), so it never loads the whole log. Every
// field of the filter is checked on the entry itself.
//
// A List is not a snapshot: an entry updated while it walks may be
// missed, or listed with its new content, but never twice.
func (l *Log) List(ctx context.Context, f synclayer.DeliveryFilter) ([]synclayer.Delivery, error) {
	out, err := l.list(ctx, f)
	if err != nil {
		return nil, l.fail(ctx, "list", f.EventID, f.Connector, err)
	}
	return out, nil
}

func (l *Log) list(ctx context.Context, f synclayer.DeliveryFilter) ([]synclayer.Delivery, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	want := filterAsStored(f)
	limit := f.Max()
	if f.EventID != "" && f.Connector != "" {
		b, err := l.client.Get(ctx, l.base+"e:"+nameHash(f.EventID)+nameHash(f.Connector)).Bytes()
		if errors.Is(err, redis.Nil) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		d, err := decodeEntry(b)
		if err != nil || !want.Match(&d) {
			return nil, err
		}
		return []synclayer.Delivery{d}, nil
	}
	keys, err := l.walkKeys(ctx, f)
	if err != nil {
		return nil, err
	}
	lo := "-inf"
	if !f.Since.IsZero() {
		lo = score(f.Since) // to the microsecond, rounded down; each entry's Updated is checked exactly
	}
	page := int64(max(64, min(limit, 1000)))
	w := &walk{ctx: ctx, client: l.client, min: lo, page: page, seen: map[string]bool{}}
	for _, k := range keys {
		w.streams = append(w.streams, &stream{key: k})
	}
	var out []synclayer.Delivery
	for len(out) < limit {
		ids, err := w.next()
		if err != nil {
			return nil, err
		}
		if len(ids) == 0 {
			break
		}
		ek := make([]string, len(ids))
		for i, id := range ids {
			ek[i] = l.base + "e:" + id
		}
		vals, err := l.client.MGet(ctx, ek...).Result()
		if err != nil {
			return nil, err
		}
		for i, v := range vals {
			s, ok := v.(string)
			if !ok {
				continue // dropped since the index was read
			}
			d, err := decodeEntry([]byte(s))
			if err != nil {
				return nil, fmt.Errorf("entry %s: %w", ids[i], err)
			}
			if want.Match(&d) && len(out) < limit {
				out = append(out, d)
			}
		}
	}
	return out, nil
}

// walkKeys returns the indexes List walks for f: of the indexes that hold
// every match (the event's, the connector's, the states'), those with the
// fewest entries; with none of them, the index of all entries.
func (l *Log) walkKeys(ctx context.Context, f synclayer.DeliveryFilter) ([]string, error) {
	var choices [][]string
	if f.EventID != "" {
		choices = append(choices, []string{l.base + "v:" + nameHash(f.EventID)})
	}
	if f.Connector != "" {
		choices = append(choices, []string{l.base + "c:" + nameHash(f.Connector)})
	}
	if len(f.States) > 0 {
		var ks []string
		for _, s := range f.States {
			if k := l.stateKey(s); !slices.Contains(ks, k) {
				ks = append(ks, k)
			}
		}
		choices = append(choices, ks)
	}
	switch len(choices) {
	case 0:
		return []string{l.base + "u"}, nil
	case 1:
		return choices[0], nil
	}
	pipe := l.client.Pipeline()
	counts := make([][]*redis.IntCmd, len(choices))
	for i, ks := range choices {
		for _, k := range ks {
			counts[i] = append(counts[i], pipe.ZCard(ctx, k))
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, err
	}
	best, bestN := 0, int64(-1)
	for i, cs := range counts {
		var n int64
		for _, c := range cs {
			n += c.Val()
		}
		if bestN < 0 || n < bestN {
			best, bestN = i, n
		}
	}
	return choices[best], nil
}

// A walk merges sorted sets newest first, reading each in pages.
type walk struct {
	ctx     context.Context
	client  redis.UniversalClient
	min     string // lowest score wanted
	page    int64
	streams []*stream
	seen    map[string]bool // members given out, since pages shift under writes
}

type stream struct {
	key  string
	off  int64
	buf  []redis.Z
	done bool
}

// next returns the next members, newest first, up to a page of them; none
// when every set is read.
func (w *walk) next() ([]string, error) {
	var ids []string
	for int64(len(ids)) < w.page {
		if err := w.fill(); err != nil {
			return nil, err
		}
		best := -1
		for i, s := range w.streams {
			if len(s.buf) > 0 && (best < 0 || newer(s.buf[0], w.streams[best].buf[0])) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		s := w.streams[best]
		m := s.buf[0].Member.(string)
		s.buf = s.buf[1:]
		if !w.seen[m] {
			w.seen[m] = true
			ids = append(ids, m)
		}
	}
	return ids, nil
}

// fill reads the next page of every set whose page is used up, in one
// pipeline, so that the merge sees the head of every set.
func (w *walk) fill() error {
	var need []*stream
	for _, s := range w.streams {
		if len(s.buf) == 0 && !s.done {
			need = append(need, s)
		}
	}
	if len(need) == 0 {
		return nil
	}
	pipe := w.client.Pipeline()
	cmds := make([]*redis.ZSliceCmd, len(need))
	for i, s := range need {
		cmds[i] = pipe.ZRevRangeByScoreWithScores(w.ctx, s.key,
			&redis.ZRangeBy{Max: "+inf", Min: w.min, Offset: s.off, Count: w.page})
	}
	if _, err := pipe.Exec(w.ctx); err != nil && !errors.Is(err, redis.Nil) {
		return err
	}
	for i, s := range need {
		zs, err := cmds[i].Result()
		if err != nil {
			return err
		}
		s.buf, s.off = zs, s.off+int64(len(zs))
		s.done = int64(len(zs)) < w.page
	}
	return nil
}

// newer reports whether a comes before b in a sorted set read in reverse:
// a higher score, or the same score and a greater member.
func newer(a, b redis.Z) bool {
	if a.Score != b.Score {
		return a.Score > b.Score
	}
	return a.Member.(string) > b.Member.(string)
}

// decodeEntry decodes an entry's JSON.
func decodeEntry(b []byte) (synclayer.Delivery, error) {
	var d synclayer.Delivery
	if err := json.Unmarshal(b, &d); err != nil {
		return d, fmt.Errorf("decode the entry: %w", err)
	}
	return d, nil
}

// filterAsStored returns f with its names as JSON keeps them (each byte
// that is not valid UTF-8 becomes U+FFFD), to compare with decoded
// entries.
func filterAsStored(f synclayer.DeliveryFilter) synclayer.DeliveryFilter {
	f.EventID, f.EventType, f.Connector, f.Key = jsontext.Kept(f.EventID), jsontext.Kept(f.EventType), jsontext.Kept(f.Connector), jsontext.Kept(f.Key)
	return f
}
