package redisstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hmsplatform/synclayer"
)

// Errors of this package. Failures of Redis are returned wrapped, with the
// operation, connector and key in the message.
var (
	// ErrConfig: a nil client, or a prefix with a brace (braces are the
	// store's hash tags).
	ErrConfig = errors.New("redisstore: invalid configuration")
	// ErrNoAnswer: a script returned something it never returns; the store
	// reports it rather than guess.
	ErrNoAnswer = errors.New("redisstore: unexpected reply from Redis")
)

// DefaultPrefix is the key prefix when none is set.
const DefaultPrefix = "synclayer:idem:"

// Option configures a [Store].
type Option func(*Store)

// WithPrefix sets the prefix of every key the store writes (default
// [DefaultPrefix]). Stores with different prefixes on one Redis are
// independent. The prefix must not contain '{' or '}'.
func WithPrefix(p string) Option { return func(s *Store) { s.prefix = p } }

// Store is a [synclayer.Store] in Redis. It is safe for concurrent use, by
// many goroutines and many processes sharing the Redis.
type Store struct {
	client redis.UniversalClient
	prefix string
}

var _ synclayer.Store = (*Store)(nil)

// New returns a store over client, which the caller opened and closes: a
// *redis.Client, a *redis.ClusterClient or any redis.UniversalClient.
func New(client redis.UniversalClient, opts ...Option) (*Store, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: New needs a client", ErrConfig)
	}
	s := &Store{client: client, prefix: DefaultPrefix}
	for _, o := range opts {
		if o != nil {
			o(s)
		}
	}
	if strings.ContainsAny(s.prefix, "{}") {
		return nil, fmt.Errorf("%w: prefix %q contains a brace", ErrConfig, s.prefix)
	}
	return s, nil
}

// Prefix returns the store's key prefix.
func (s *Store) Prefix() string { return s.prefix }

// Claim decides done -> stale -> busy -> acquired in one script, taking the
// lease with SET NX PX. A lease that already holds this claim's token is
// this claim's own, taken by a first try whose reply was lost before the
// client resent the script: it is acquired, not busy. KEYS: done-marker, lease, key hash. ARGV: version,
// token, lease TTL in ms. Reply: {status, last version[, lease ms left]}.
var claimScript = redis.NewScript(versionCmp + `
if redis.call('EXISTS', KEYS[1]) == 1 then return {1, '0'} end
local cur = redis.call('HGET', KEYS[3], 'v') or '0'
local want = ARGV[1]
if want ~= '0' and not greater(want, cur) then return {2, cur} end
if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then return {4, cur} end
if redis.call('GET', KEYS[2]) == ARGV[2] then return {4, cur} end
return {3, cur, redis.call('PTTL', KEYS[2])}
`)

// Complete drops the lease if the token holds it, writes the done-marker
// for the retention, and raises the version. KEYS: done-marker, lease, key
// hash. ARGV: version, token, retention ms, record key, connector.
var completeScript = redis.NewScript(versionCmp + `
if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end
local ret = tonumber(ARGV[3])
if ret > 0 then redis.call('SET', KEYS[1], '1', 'PX', ret) end
local want = ARGV[1]
if want ~= '0' and string.sub(want, 1, 1) ~= '-' then
	local cur = redis.call('HGET', KEYS[3], 'v')
	if not cur or greater(want, cur) then
		redis.call('HSET', KEYS[3], 'v', want, 'key', ARGV[4], 'connector', ARGV[5])
	end
	if ret > 0 then redis.call('PEXPIRE', KEYS[3], ret) end
end
return 1
`)

// Release drops the lease if the token holds it. KEYS: lease. ARGV: token.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// versionCmp compares versions as decimal strings, exactly (Lua numbers
// are doubles, and versions are 64-bit): greater(a, b) reports a > b.
const versionCmp = `
local function greater(a, b)
	local na, nb = string.sub(a, 1, 1) == '-', string.sub(b, 1, 1) == '-'
	if na ~= nb then return nb end
	if na then a, b = string.sub(b, 2), string.sub(a, 2) end
	if #a ~= #b then return #a > #b end
	return a > b
end
`

// keys returns the done-marker, lease and version keys of a claim. All
// three share a hash tag (a hash of connector and record key), so they
// live in one slot of a cluster; so the done-marker of an event is found
// through the record key it was completed with.
func (s *Store) keys(c synclayer.Claim) []string {
	h := sha256.New()
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(c.Connector)))
	h.Write(n[:])
	h.Write([]byte(c.Connector))
	h.Write([]byte(c.Key))
	tag := s.prefix + "{" + hex.EncodeToString(h.Sum(nil)[:16]) + "}:"
	e := sha256.Sum256([]byte(c.EventID))
	return []string{tag + "d:" + hex.EncodeToString(e[:16]), tag + "l", tag + "k"}
}

func millis(d time.Duration) int64 { return max(d.Milliseconds(), 1) }

func newToken() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// Claim implements [synclayer.Store] in one round trip.
func (s *Store) Claim(ctx context.Context, c synclayer.Claim) (synclayer.ClaimResult, error) {
	tok := newToken()
	start := time.Now()
	reply, err := claimScript.Run(ctx, s.client, s.keys(c), strconv.FormatInt(c.Version, 10), tok, millis(c.LeaseTTL)).Slice()
	if err != nil {
		return synclayer.ClaimResult{}, s.fail(ctx, "claim", c, err)
	}
	if len(reply) < 2 {
		return synclayer.ClaimResult{}, s.fail(ctx, "claim", c, fmt.Errorf("%w: %v", ErrNoAnswer, reply))
	}
	status, ok1 := reply[0].(int64)
	vs, ok2 := reply[1].(string)
	version, err := strconv.ParseInt(vs, 10, 64)
	if !ok1 || !ok2 || err != nil {
		return synclayer.ClaimResult{}, s.fail(ctx, "claim", c, fmt.Errorf("%w: %v", ErrNoAnswer, reply))
	}
	switch status {
	case 1:
		return synclayer.ClaimResult{Status: synclayer.ClaimDone}, nil
	case 2:
		return synclayer.ClaimResult{Status: synclayer.ClaimStale, Version: version}, nil
	case 3:
		left, ok := reply[2].(int64)
		if len(reply) < 3 || !ok {
			break
		}
		return synclayer.ClaimResult{Status: synclayer.ClaimBusy, Version: version,
			Expires: start.Add(time.Duration(max(left, 0)) * time.Millisecond)}, nil
	case 4:
		return synclayer.ClaimResult{Status: synclayer.ClaimAcquired, Token: tok, Version: version}, nil
	}
	return synclayer.ClaimResult{}, s.fail(ctx, "claim", c, fmt.Errorf("%w: %v", ErrNoAnswer, reply))
}

// Complete implements [synclayer.Store] in one round trip.
func (s *Store) Complete(ctx context.Context, c synclayer.Claim, token string) error {
	ret := int64(0)
	if c.Retention > 0 {
		ret = millis(c.Retention)
	}
	err := completeScript.Run(ctx, s.client, s.keys(c), strconv.FormatInt(c.Version, 10), token, ret, c.Key, c.Connector).Err()
	if err != nil {
		return s.fail(ctx, "complete", c, err)
	}
	return nil
}

// Release implements [synclayer.Store] in one round trip.
func (s *Store) Release(ctx context.Context, c synclayer.Claim, token string) error {
	err := releaseScript.Run(ctx, s.client, s.keys(c)[1:2], token).Err()
	if err != nil && !errors.Is(err, redis.Nil) {
		return s.fail(ctx, "release", c, err)
	}
	return nil
}

// fail wraps err with the operation and names; if ctx has ended, the
// error also matches ctx.Err() with errors.Is.
func (s *Store) fail(ctx context.Context, op string, c synclayer.Claim, err error) error {
	what := fmt.Sprintf("redisstore: %s of connector %s, key %s, event %s", op,
		quote(c.Connector), quote(c.Key), quote(c.EventID))
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%s: %w (%w)", what, cerr, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// quote quotes a name for an error message, bounded to 64 bytes.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		return strconv.Quote(s[:max]) + "..." + strconv.Itoa(len(s)) + " bytes"
	}
	return strconv.Quote(s)
}
