package redisstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency"
	"github.com/hmsplatform/synclayer/idempotency/internal/janitor"
	"github.com/hmsplatform/synclayer/internal/option"
)

// Defaults of a [Log].
const (
	// DefaultLogPrefix is the key prefix of a log when none is set.
	DefaultLogPrefix = "synclayer:log:"
	// DefaultLogRetention is how long a settled entry is kept when
	// [WithLogRetention] is not given.
	DefaultLogRetention = 7 * 24 * time.Hour
)

// How many entries the log drops at most: after each Put, and per script
// of [Log.Cleanup].
const (
	logTrimPerPut   = 8
	logCleanupBatch = 500
)

// Log is a [synclayer.DeliveryLog] in Redis: one key per (event,
// connector) holding the entry as JSON, and sorted sets by update time
// that index all entries, each event's, each connector's and each
// state's, so that the dead letters, a connector's entries or an event's
// are listed without reading the rest of the log. Its entries survive a
// restart of the process and are shared by every process on the Redis
// (as far as Redis keeps them; see the package's Durability note). It is
// safe for concurrent use, by many goroutines and many processes.
//
//	log, err := redisstore.NewLog(client, redisstore.WithLogPrefix("orders:log:"))
//	d := synclayer.NewDispatcher(reg, synclayer.WithStore(store), synclayer.WithDeliveryLog(log))
//
// # Keys
//
// With m the member of an entry, 32 hex digits made of the first 8 bytes
// of a SHA-256 of the event ID and of the connector:
//
//	<prefix>{log}:e:<m>        the entry, as the JSON of synclayer.Delivery (its source event included)
//	<prefix>{log}:u            sorted set of every m, scored by Updated (Unix µs)
//	<prefix>{log}:v:<m[:16]>   the same, for one event ID
//	<prefix>{log}:c:<m[16:]>   the same, for one connector
//	<prefix>{log}:s:<n>        the same, for one state (n: the Status number)
//
// Put and the cleanup are Lua scripts that touch several of these keys at
// once, so all of them carry the hash tag {log}: on a cluster a log lives
// in one slot, on one node.
//
// # Retention
//
// Each Put drops up to 8 settled entries older than the retention
// ([WithLogRetention], default 7 days), so a log in use stays bounded with
// no janitor; [Log.Cleanup] and [Log.RunJanitor] drop them all. Dead
// letters stay until replayed unless [WithLogDeadRetention] is set, and a
// pending entry (a route held by a pause or an open breaker) is never
// dropped.
type Log struct {
	client        redis.UniversalClient
	prefix        string
	base          string // prefix + "{log}:"
	retention     time.Duration
	deadRetention time.Duration
}

var (
	_ synclayer.DeliveryLog  = (*Log)(nil)
	_ idempotency.DurableLog = (*Log)(nil)
)

// LogOption configures a [Log]. A zero value means the default; an invalid
// value makes [NewLog] return an error that names the option and wraps
// synclayer.ErrInvalidOption.
type LogOption func(*Log) error

// WithLogPrefix sets the prefix of every key the log writes (default, and
// for "", [DefaultLogPrefix]). Logs with different prefixes on one Redis
// are independent. A prefix with '{' or '}' is an error: the log's keys
// carry the hash tag {log} after it.
func WithLogPrefix(p string) LogOption {
	return func(l *Log) (err error) {
		l.prefix, err = prefix("WithLogPrefix", p, DefaultLogPrefix, "the log uses for its hash tag")
		return err
	}
}

// WithLogRetention sets how long the log keeps settled entries (synced,
// duplicate and stale ones, and in-progress ones left by a process that
// died mid-push) after their last update (default, and for 0,
// [DefaultLogRetention]). A negative d is an error. Pending entries are
// never dropped; dead letters wait for [WithLogDeadRetention].
func WithLogRetention(d time.Duration) LogOption {
	return func(l *Log) error {
		return option.Set("WithLogRetention", d, DefaultLogRetention, &l.retention)
	}
}

// WithLogDeadRetention lets the log drop dead and failed entries (the dead
// letters) once they are older than d, or than the retention if that is
// longer. The default, 0, keeps dead letters until an operator replays
// them: a replay that succeeds turns them into synced entries, which the
// retention then drops. A negative d is an error.
func WithLogDeadRetention(d time.Duration) LogOption {
	return func(l *Log) error {
		return option.Set("WithLogDeadRetention", d, 0, &l.deadRetention)
	}
}

// NewLog returns a delivery log on client, which the caller opened and
// closes. There is nothing to migrate: the keys are made on first use.
func NewLog(client redis.UniversalClient, opts ...LogOption) (*Log, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: NewLog needs a client", ErrConfig)
	}
	l := &Log{client: client, prefix: DefaultLogPrefix, retention: DefaultLogRetention}
	if err := option.Apply("redisstore: NewLog", l, opts); err != nil {
		return nil, err
	}
	l.base = l.prefix + "{log}:"
	return l, nil
}

// Prefix returns the log's key prefix.
func (l *Log) Prefix() string { return l.prefix }

// Durable implements [idempotency.DurableLog]: the entries are in Redis, so
// they survive a restart of the process.
func (l *Log) Durable() bool { return true }

// Put implements [synclayer.DeliveryLog] with one script, which Redis runs
// atomically: it replaces the entry of (d.EventID, d.Connector), moves it
// to its update time in the indexes and to its state's index, and drops
// up to 8 entries the retention lets go (never a pending one, never d).
func (l *Log) Put(ctx context.Context, d synclayer.Delivery) error {
	if err := ctx.Err(); err != nil {
		return l.fail(ctx, "put", d.EventID, d.Connector, err)
	}
	body, err := json.Marshal(d)
	if err != nil {
		return l.fail(ctx, "put", d.EventID, d.Connector, fmt.Errorf("encode the entry: %w", err))
	}
	ev, conn := nameHash(d.EventID), nameHash(d.Connector)
	m := ev + conn
	settled, dead := l.cutoffs(time.Now())
	keys := []string{l.base + "e:" + m, l.base + "u", l.base + "v:" + ev, l.base + "c:" + conn, l.stateKey(d.State)}
	err = logPutScript.Run(ctx, l.client, keys, m, body, score(d.Updated), l.base, settled, dead, logTrimPerPut).Err()
	if err != nil {
		return l.fail(ctx, "put", d.EventID, d.Connector, err)
	}
	return nil
}

// Cleanup drops every entry the retention lets go, and returns how many it
// dropped:
//
//   - synced, duplicate and stale entries, and in-progress ones (left by
//     a process that died mid-push), updated more than the retention
//     ([WithLogRetention]) ago;
//   - dead and failed entries only when [WithLogDeadRetention] is set,
//     once updated more than that retention (or the retention, if longer)
//     ago;
//   - pending entries never: they are pushed, and so replaced, when their
//     connector resumes.
//
// Put already drops a few such entries each time, which keeps a busy log
// bounded; Cleanup (or [Log.RunJanitor]) catches up after a quiet spell.
// Each script drops at most 500 entries, so Redis is never blocked long;
// Cleanup runs scripts until one drops fewer, or ctx ends. Times are the
// entries' Updated times against this process's clock.
func (l *Log) Cleanup(ctx context.Context) (int64, error) {
	settled, dead := l.cutoffs(time.Now())
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, l.fail(ctx, "cleanup", "", "", err)
		}
		n, err := logCleanupScript.Run(ctx, l.client, []string{l.base + "u"}, l.base, settled, dead, logCleanupBatch).Int64()
		if err != nil {
			return total, l.fail(ctx, "cleanup", "", "", err)
		}
		total += n
		if n < logCleanupBatch {
			return total, nil
		}
	}
}

// RunJanitor calls [Log.Cleanup] every interval (default, for 0 or less, a
// minute) until ctx ends, then returns ctx's error. Errors of a round go
// to onErr (which may be nil) and do not stop the janitor.
func (l *Log) RunJanitor(ctx context.Context, every time.Duration, onErr func(error)) error {
	return janitor.Run(ctx, every, onErr, func(ctx context.Context) error { _, err := l.Cleanup(ctx); return err })
}

// cutoffs returns the scores before which settled and dead entries go
// ("" for never).
func (l *Log) cutoffs(now time.Time) (settled, dead string) {
	settled = score(now.Add(-l.retention))
	if l.deadRetention > 0 {
		dead = score(now.Add(-max(l.deadRetention, l.retention)))
	}
	return settled, dead
}

// stateKey is the index of the entries in state s.
func (l *Log) stateKey(s synclayer.Status) string {
	if s >= synclayer.StatusPending && s <= synclayer.StatusDead {
		return l.base + "s:" + strconv.Itoa(int(s))
	}
	return l.base + "s:x"
}

// score is an entry's place in the indexes: its Updated time in Unix
// microseconds, which a sorted set's double holds exactly.
func score(t time.Time) string { return strconv.FormatInt(t.UnixMicro(), 10) }

// nameHash is the stand-in of an event ID or connector name in the log's
// keys: the first 8 bytes of its SHA-256, in hex. Two names that share it
// share an index, never an entry's answer: List compares the names.
func nameHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

// fail wraps err with the operation, the log's prefix and the names; if
// ctx has ended, the error also matches ctx.Err() with errors.Is.
func (l *Log) fail(ctx context.Context, op, eventID, connector string, err error) error {
	what := fmt.Sprintf("redisstore: %s of log %q", op, l.prefix)
	if eventID != "" {
		what += fmt.Sprintf(", event %q", eventID)
	}
	if connector != "" {
		what += fmt.Sprintf(", connector %q", connector)
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%s: %w (%w)", what, cerr, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}
