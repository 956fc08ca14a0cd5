package redisstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency"
	"github.com/hmsplatform/synclayer/idempotency/internal/pairhash"
	"github.com/hmsplatform/synclayer/internal/clip"
	"github.com/hmsplatform/synclayer/internal/option"
)

// Errors of this package. Failures of Redis are returned wrapped, with the
// operation, connector and key in the message.
var (
	// ErrConfig: a nil client. It matches synclayer.ErrInvalidOption
	// too, as every bad option does.
	ErrConfig = option.Kind("redisstore: invalid configuration")
	// ErrNoAnswer: a script returned something it never returns; the store
	// reports it rather than guess.
	ErrNoAnswer = errors.New("redisstore: unexpected reply from Redis")
)

// Store is a [synclayer.Store] in Redis. It is safe for concurrent use, by
// many goroutines and many processes sharing the Redis.
//
// Concurrent calls are group-committed: the calls that arrive while a
// round trip to Redis is in flight go together in the next one (see the
// package documentation).
type Store struct {
	client redis.UniversalClient
	prefix string

	batch     batcher
	unbatched bool // each call its own round trip (for comparisons in tests)

	// indexInScript: Complete's script adds the key to the ledger's index
	// itself. Only on a single node (a *redis.Client): a cluster or a ring
	// keeps the index elsewhere than the key's hash, and the round trip
	// carries a ZADD of its own beside the script (see Store.send).
	indexInScript bool
}

var (
	_ synclayer.Store          = (*Store)(nil)
	_ idempotency.LeaseRenewer = (*Store)(nil)
	_ synclayer.Ledger         = (*Store)(nil)
)

// New returns a store over client, which the caller opened and closes: a
// *redis.Client, a *redis.ClusterClient or any redis.UniversalClient. An
// invalid option makes it return an error that names the option and wraps
// synclayer.ErrInvalidOption.
func New(client redis.UniversalClient, opts ...Option) (*Store, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: New needs a client", ErrConfig)
	}
	_, single := client.(*redis.Client)
	s := &Store{client: client, prefix: DefaultPrefix, indexInScript: single}
	if err := option.Apply("redisstore: New", s, opts); err != nil {
		return nil, err
	}
	return s, nil
}

// Prefix returns the store's key prefix.
func (s *Store) Prefix() string { return s.prefix }

// tag returns the common beginning of the keys of (c.Connector, c.Key):
// the prefix and a hash tag made of a hash of connector and record key.
func (s *Store) tag(c idempotency.Claim) string {
	tag := pairhash.Sum(c.Connector, c.Key)
	return s.prefix + "{" + hex.EncodeToString(tag[:]) + "}:"
}

// keys returns the done-marker, lease and version keys of a claim. All
// three share a hash tag, so they live in one slot of a cluster; so the
// done-marker of an event is found through the record key it was
// completed with.
func (s *Store) keys(c idempotency.Claim) []string {
	tag := s.tag(c)
	e := sha256.Sum256([]byte(c.EventID))
	return []string{tag + "d:" + hex.EncodeToString(e[:16]), tag + "l", tag + "k"}
}

func millis(d time.Duration) int64 { return max(d.Milliseconds(), 1) }

func newToken() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// newOp builds the script call of an operation on c. token is the new
// token of a claim, the caller's token otherwise.
func (s *Store) newOp(ctx context.Context, kind opKind, c idempotency.Claim, token string) *op {
	o := &op{ctx: ctx, kind: kind, c: c, token: token}
	switch kind {
	case opClaim:
		o.keys = s.keys(c)
		o.args = []any{strconv.FormatInt(c.Version, 10), token, millis(c.LeaseTTL)}
	case opComplete:
		ret := int64(0)
		if c.Retention > 0 {
			ret = millis(c.Retention)
		}
		o.keys = s.keys(c)
		o.args = []any{strconv.FormatInt(c.Version, 10), token, ret, c.Key, c.Connector, c.EventID, c.Hash, "0"}
		switch {
		case !ledgered(c.Connector):
		case s.indexInScript:
			o.args[7] = "1"
			o.keys = append(o.keys, s.indexKey(c.Connector))
		default:
			o.args[7] = "1"
			o.index = s.indexKey(c.Connector)
		}
	case opRelease:
		o.keys = []string{s.tag(c) + "l"}
		o.args = []any{token}
	case opRenew:
		o.keys = []string{s.tag(c) + "l"}
		o.args = []any{token, millis(c.LeaseTTL)}
	}
	return o
}

// do runs an operation through the batcher and returns its reply's error,
// or the context's.
func (s *Store) do(ctx context.Context, kind opKind, c idempotency.Claim, token string) (*op, error) {
	if err := ctx.Err(); err != nil {
		return nil, s.fail(ctx, kind, c, 0, err)
	}
	o := s.newOp(ctx, kind, c, token)
	if err := s.submit(ctx, o); err != nil {
		// o may still be in a round trip: read nothing of it.
		return nil, s.fail(ctx, kind, c, 0, err)
	}
	if o.err != nil {
		return nil, s.fail(ctx, kind, c, o.batch, o.err)
	}
	return o, nil
}

// Claim implements [synclayer.Store] in one round trip, shared with the
// other calls that gathered while the previous one was in flight.
func (s *Store) Claim(ctx context.Context, c idempotency.Claim) (idempotency.ClaimResult, error) {
	o, err := s.do(ctx, opClaim, c, newToken())
	if err != nil {
		return idempotency.ClaimResult{}, err
	}
	r, err := o.claimResult()
	if err != nil {
		return idempotency.ClaimResult{}, s.fail(ctx, opClaim, c, o.batch, err)
	}
	return r, nil
}

// Complete implements [synclayer.Store] in one round trip, shared as
// Claim's is.
func (s *Store) Complete(ctx context.Context, c idempotency.Claim, token string) error {
	return s.settle(ctx, opComplete, c, token)
}

// Release implements [synclayer.Store] in one round trip, shared as
// Claim's is.
func (s *Store) Release(ctx context.Context, c idempotency.Claim, token string) error {
	return s.settle(ctx, opRelease, c, token)
}

// settle runs a Complete or Release (k) and checks its reply.
func (s *Store) settle(ctx context.Context, k opKind, c idempotency.Claim, token string) error {
	o, err := s.do(ctx, k, c, token)
	if err != nil {
		return err
	}
	if _, err := o.flag(); err != nil {
		return s.fail(ctx, k, c, o.batch, err)
	}
	return nil
}

// Renew implements [idempotency.LeaseRenewer] in one round trip, shared as
// Claim's is: if token holds the lease on (c.Connector, c.Key), its TTL is
// set to c.LeaseTTL from now and Renew reports true; otherwise (the lease
// expired, was taken by another holder, or was released) it changes
// nothing and reports false.
func (s *Store) Renew(ctx context.Context, c idempotency.Claim, token string) (bool, error) {
	o, err := s.do(ctx, opRenew, c, token)
	if err != nil {
		return false, err
	}
	ok, err := o.flag()
	if err != nil {
		return false, s.fail(ctx, opRenew, c, o.batch, err)
	}
	return ok, nil
}

// fail wraps err with the operation, the names and, for a batch, its
// size; if ctx has ended, the error also matches ctx.Err() with
// errors.Is.
func (s *Store) fail(ctx context.Context, kind opKind, c idempotency.Claim, batch int, err error) error {
	what := fmt.Sprintf("redisstore: %s of connector %s, key %s, event %s", opNames[kind],
		quote(c.Connector), quote(c.Key), quote(c.EventID))
	if batch > 1 {
		what += fmt.Sprintf(" (in a round trip of %d operations)", batch)
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%s: %w (%w)", what, cerr, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// quote quotes a name for an error message, bounded to 64 bytes.
func quote(s string) string { return strconv.Quote(clip.String(s, 64)) }
