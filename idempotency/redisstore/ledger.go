package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency"
)

// The freshness ledger ([synclayer.Ledger]) lives in each key's hash
// (<prefix>{h}:k), next to its version v, in fields of its own: e (event
// of the last push), h (its payload's hash), p (pushed at, Unix ms), w
// and wa (the version wanted and since when), va and dr (the last check
// and its Drift). A hash is a ledger entry once it has p, wa or va. Each
// connector's keys are also members of a sorted set, its index
// (<prefix>ledger:<connector>, all scores 0, so in byte order), which
// Holdings walks with ZRANGEBYLEX. Complete writes the entry in its script
// and adds the key to the index in the same round trip.

// ledgered reports whether Complete writes the ledger entry of
// connector's keys: not for synclayer's own namespaces, whose names start
// with '$' (a registered connector's never does), such as the
// announcements' done-markers, which no partner holds.
func ledgered(connector string) bool { return !strings.HasPrefix(connector, "$") }

// ledgerFields are the fields an entry is read from, in scanEntry's order.
var ledgerFields = []string{"v", "e", "h", "p", "w", "wa", "va", "dr"}

// ledgerPage is how many index members Holdings and Summary read per
// round trip.
const ledgerPage = 512

// indexKey returns the key of connector's ledger index.
func (s *Store) indexKey(connector string) string { return s.prefix + "ledger:" + connector }

// hashKey returns the key of the hash of (connector, key).
func (s *Store) hashKey(connector, key string) string {
	return s.tag(idempotency.Claim{Connector: connector, Key: key}) + "k"
}

// ledgerFail wraps err with the call and the names; if ctx has ended, the
// error also matches ctx.Err().
func (s *Store) ledgerFail(ctx context.Context, what, connector, key string, err error) error {
	msg := fmt.Sprintf("redisstore: ledger %s of connector %s", what, quote(connector))
	if key != "" {
		msg += ", key " + quote(key)
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%s: %w (%w)", msg, cerr, err)
	}
	return fmt.Errorf("%s: %w", msg, err)
}

// write runs script on the key's hash and adds the key to the index, in
// one round trip.
func (s *Store) write(ctx context.Context, what, connector, key string, script *redis.Script, args ...any) error {
	if err := ctx.Err(); err != nil {
		return s.ledgerFail(ctx, what, connector, key, err)
	}
	keys := []string{s.hashKey(connector, key)}
	run := func(full bool) (*redis.Cmd, error) {
		pipe := s.client.Pipeline()
		z := pipe.ZAdd(ctx, s.indexKey(connector), redis.Z{Member: key})
		var c *redis.Cmd
		if full {
			c = script.Eval(ctx, pipe, keys, args...)
		} else {
			c = script.EvalSha(ctx, pipe, keys, args...)
		}
		_, _ = pipe.Exec(ctx) // each command carries its own error
		return c, z.Err()
	}
	c, zerr := run(false)
	if redis.HasErrorPrefix(c.Err(), "NOSCRIPT") {
		c, zerr = run(true)
	}
	if err := errors.Join(c.Err(), zerr); err != nil {
		return s.ledgerFail(ctx, what, connector, key, err)
	}
	return nil
}

// unixMilli returns t in Unix ms, or now for the zero time.
func unixMilli(t time.Time) string {
	if t.IsZero() {
		t = time.Now()
	}
	return strconv.FormatInt(t.UnixMilli(), 10)
}

// Pushed implements [synclayer.Ledger] in one round trip; a zero PushedAt
// is taken as now. The Dispatcher never calls it: Complete writes the
// entry.
func (s *Store) Pushed(ctx context.Context, h synclayer.Holding) error {
	return s.write(ctx, "pushed", h.Connector, h.Key, pushedScript,
		strconv.FormatInt(h.Version, 10), h.EventID, h.Hash, unixMilli(h.PushedAt), h.Key, h.Connector)
}

// Want implements [synclayer.Ledger] in one round trip, stamped with
// Redis's clock. A key that wants a version loses its hash's TTL until a
// Complete with a retention reaches that version. A version of 0 or less changes
// nothing (and, unlike the MemoryStore, makes no empty entry).
func (s *Store) Want(ctx context.Context, connector, key string, version int64) error {
	if err := ctx.Err(); err != nil {
		return s.ledgerFail(ctx, "want", connector, key, err)
	}
	if version <= 0 {
		return nil
	}
	return s.write(ctx, "want", connector, key, wantScript, strconv.FormatInt(version, 10))
}

// verifiedScript is synclayer.Ledger.Verified. A check dated before the
// push (p) changes nothing. A drift (missing, differs or unexpected) makes
// the entry behind, and its hash loses its TTL, as Want's does. KEYS: key
// hash. ARGV: at (Unix ms), drift. Reply: 1, or 0 when the check is older
// than the push.
var verifiedScript = redis.NewScript(`
local p = redis.call('HGET', KEYS[1], 'p')
if p and tonumber(ARGV[1]) < tonumber(p) then return 0 end
redis.call('HSET', KEYS[1], 'va', ARGV[1], 'dr', ARGV[2])
if ARGV[2] == '2' or ARGV[2] == '3' or ARGV[2] == '4' then redis.call('PERSIST', KEYS[1]) end
return 1
`)

// Verified implements [synclayer.Ledger] in one round trip; a zero at is
// taken as now, and a check dated before the entry's push, in Unix ms,
// changes nothing. A drift (missing, differs or unexpected) makes the entry
// behind: its hash loses its TTL until a Complete with a retention brings
// it level (a later check in sync does not set the TTL again: the
// retention is Complete's).
func (s *Store) Verified(ctx context.Context, connector, key string, at time.Time, d synclayer.Drift) error {
	return s.write(ctx, "verified", connector, key, verifiedScript, unixMilli(at), strconv.Itoa(int(d)))
}

// scanEntry reads the values of ledgerFields into h, and reports whether
// they make an entry.
func scanEntry(vals []any, h *synclayer.Holding) (bool, error) {
	if len(vals) != len(ledgerFields) {
		return false, unexpected(vals)
	}
	str := make([]string, len(vals))
	for i, v := range vals {
		switch v := v.(type) {
		case nil:
		case string:
			str[i] = v
		default:
			return false, unexpected(vals)
		}
	}
	num := func(s string) (int64, error) {
		if s == "" {
			return 0, nil
		}
		return strconv.ParseInt(s, 10, 64)
	}
	ms := func(s string) (time.Time, error) {
		n, err := num(s)
		if err != nil || n == 0 {
			return time.Time{}, err
		}
		return time.UnixMilli(n), nil
	}
	var (
		errs  [7]error
		drift int64
	)
	h.Version, errs[0] = num(str[0])
	h.EventID, h.Hash = str[1], str[2]
	h.PushedAt, errs[1] = ms(str[3])
	h.Wanted, errs[2] = num(str[4])
	h.WantedAt, errs[3] = ms(str[5])
	h.VerifiedAt, errs[4] = ms(str[6])
	drift, errs[5] = num(str[7])
	h.Drift = synclayer.Drift(drift)
	if err := errors.Join(errs[:]...); err != nil {
		return false, fmt.Errorf("%w: %v", ErrNoAnswer, err)
	}
	return str[3] != "" || str[5] != "" || str[6] != "", nil
}

// Holding implements [synclayer.Ledger]: one HMGET of the key's hash.
func (s *Store) Holding(ctx context.Context, connector, key string) (synclayer.Holding, bool, error) {
	if err := ctx.Err(); err != nil {
		return synclayer.Holding{}, false, s.ledgerFail(ctx, "holding", connector, key, err)
	}
	vals, err := s.client.HMGet(ctx, s.hashKey(connector, key), ledgerFields...).Result()
	if err != nil {
		return synclayer.Holding{}, false, s.ledgerFail(ctx, "holding", connector, key, err)
	}
	h := synclayer.Holding{Connector: connector, Key: key}
	ok, err := scanEntry(vals, &h)
	if err != nil {
		return synclayer.Holding{}, false, s.ledgerFail(ctx, "holding", connector, key, err)
	}
	if !ok {
		return synclayer.Holding{}, false, nil
	}
	return h, true, nil
}

// page reads up to n members of connector's index from min (a
// ZRANGEBYLEX bound: "-" the first, "(k" the members above k), and the
// entries of those that have one, in key order: two round trips. more
// reports whether the index may go on.
func (s *Store) page(ctx context.Context, connector, min string, n int) (hs []synclayer.Holding, last string, more bool, err error) {
	keys, err := s.client.ZRangeByLex(ctx, s.indexKey(connector), &redis.ZRangeBy{Min: min, Max: "+", Count: int64(n)}).Result()
	if err != nil || len(keys) == 0 {
		return nil, "", false, err
	}
	pipe := s.client.Pipeline()
	cmds := make([]*redis.SliceCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.HMGet(ctx, s.hashKey(connector, k), ledgerFields...)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, "", false, err
	}
	for i, k := range keys {
		h := synclayer.Holding{Connector: connector, Key: k}
		ok, err := scanEntry(cmds[i].Val(), &h)
		if err != nil {
			return nil, "", false, err
		}
		if ok {
			hs = append(hs, h)
		}
	}
	return hs, keys[len(keys)-1], len(keys) == n, nil
}

// Holdings implements [synclayer.Ledger] over the connector's index. The
// index keeps the keys whose hash expired (one retention after their last
// Complete): a page skips them, reading on until it has limit entries, so
// a page costs two round trips per 512 index members it reads. A limit of
// 0 or less returns every entry after after.
func (s *Store) Holdings(ctx context.Context, connector, after string, limit int) ([]synclayer.Holding, error) {
	if err := ctx.Err(); err != nil {
		return nil, s.ledgerFail(ctx, "holdings", connector, "", err)
	}
	var out []synclayer.Holding
	for limit <= 0 || len(out) < limit {
		n := ledgerPage
		if limit > 0 {
			n = min(n, limit-len(out))
		}
		// Keys above after only: with after "", the key "" is left out,
		// as by the MemoryStore's Holdings.
		hs, last, more, err := s.page(ctx, connector, "("+after, n)
		if err != nil {
			return nil, s.ledgerFail(ctx, "holdings", connector, "", err)
		}
		out = append(out, hs...)
		if !more {
			break
		}
		after = last
	}
	return out, nil
}

// Summary implements [synclayer.Ledger] by reading every member of the
// connector's index and its entry: two round trips per 512 keys, O(n) in
// the connector's keys. It suits a status page polled now and then, not
// a hot path. Among unverified entries pushed at the same millisecond,
// the first key in byte order is the oldest.
func (s *Store) Summary(ctx context.Context, connector string) (synclayer.LedgerSummary, error) {
	if err := ctx.Err(); err != nil {
		return synclayer.LedgerSummary{}, s.ledgerFail(ctx, "summary", connector, "", err)
	}
	sum := synclayer.LedgerSummary{Connector: connector}
	from := "-"
	for {
		hs, last, more, err := s.page(ctx, connector, from, ledgerPage)
		if err != nil {
			return synclayer.LedgerSummary{}, s.ledgerFail(ctx, "summary", connector, "", err)
		}
		for _, h := range hs {
			count(&sum, h)
		}
		if !more {
			return sum, nil
		}
		from = "(" + last
	}
}

// count adds h to sum, by the rules of [synclayer.LedgerSummary].
func count(sum *synclayer.LedgerSummary, h synclayer.Holding) {
	sum.Keys++
	if h.Behind() {
		sum.Behind++
		at := h.VerifiedAt
		if h.Wanted > h.Version {
			at = h.WantedAt
		}
		if sum.OldestBehindAt.IsZero() || at.Before(sum.OldestBehindAt) {
			sum.OldestBehindAt = at
		}
	}
	if h.VerifiedAt.IsZero() || h.VerifiedAt.Before(h.PushedAt) {
		sum.Unverified++
		if sum.OldestUnverified == "" || h.PushedAt.Before(sum.OldestUnverifiedAt) {
			sum.OldestUnverified, sum.OldestUnverifiedAt = h.Key, h.PushedAt
		}
	}
}
