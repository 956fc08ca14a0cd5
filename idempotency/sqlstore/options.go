package sqlstore

import (
	"database/sql"
	"time"

	"github.com/hmsplatform/synclayer/internal/option"
)

// Option configures a [Store] or a [Log]: one option type serves [New]
// and [NewLog], and each reads the settings that concern it. A zero value
// (0, nil) means the default; an invalid value (a negative number) makes
// the constructor return an error that names the option and wraps
// synclayer.ErrInvalidOption.
type Option func(*config) error

// NoGroupCommit is the [WithMaxBatch] that turns group commit off: every
// call is then its own statement, run on the caller's goroutine.
const NoGroupCommit = 1

// The defaults of the options.
const (
	defaultCleanupBatch = 1000
	defaultMaxBatch     = 256
	defaultInflight     = 2
)

// config holds the settings of a Store or a Log.
type config struct {
	cleanupBatch  int
	maxBatch      int
	inflight      int
	warn          func(error)
	deadRetention time.Duration
}

// newConfig checks the positional arguments of the constructor fn, and
// applies opts over the defaults.
func newConfig(fn string, db *sql.DB, dialect *Dialect, table string, opts []Option) (config, error) {
	if err := checkArgs(fn, db, dialect, table); err != nil {
		return config{}, err
	}
	c := config{cleanupBatch: defaultCleanupBatch, maxBatch: defaultMaxBatch, inflight: defaultInflight}
	err := option.Apply("sqlstore: "+fn, &c, opts)
	return c, err
}

// WithCleanupBatch sets how many expired rows one statement of
// [Store.Cleanup] or [Log.Cleanup] deletes at most (default 1000).
func WithCleanupBatch(n int) Option {
	return func(c *config) error { return option.Set("WithCleanupBatch", n, defaultCleanupBatch, &c.cleanupBatch) }
}

// WithMaxBatch bounds how many concurrent calls of one kind one statement
// carries (default 256). [NoGroupCommit] turns group commit off.
func WithMaxBatch(n int) Option {
	return func(c *config) error { return option.Set("WithMaxBatch", n, defaultMaxBatch, &c.maxBatch) }
}

// WithInflight sets how many batches of one kind (claims, completes,
// releases, renews; a Log's puts) are sent at once, each on its own
// connection (default 2). With 1, calls gather only while the one batch
// is in flight, so batches are largest; a second batch in flight overlaps
// the database's commit (a disk flush, which it shares between concurrent
// commits) with the next statement, which pays where commits are slow.
// A Store then uses up to 4*k connections (see [BatchConns]).
func WithInflight(k int) Option {
	return func(c *config) error { return option.Set("WithInflight", k, defaultInflight, &c.inflight) }
}

// WithWarn sets a function that receives the warnings of a Store or a
// Log: that the pool cannot serve a Store's batches ([ErrPoolTooSmall],
// from [New] and [Store.Migrate]; never with group commit off, and never
// from a Log, whose pool the Log does not check), or that the pool's
// connections churn under the batches of a Store or a Log
// ([ErrPoolChurn]). Each warning is given once. By default (nil) warnings
// are dropped.
func WithWarn(f func(error)) Option {
	return func(c *config) error { c.warn = f; return nil }
}

// WithDeadRetention lets [Log.Cleanup] delete dead and failed entries (the
// dead letters) once they are older than d, or than Cleanup's own
// olderThan if that is longer. The default, 0, keeps dead letters until an
// operator replays them: a replay that succeeds turns them into synced
// entries, which the usual retention then removes. A negative d is an
// error. A Store has no dead letters and ignores it.
func WithDeadRetention(d time.Duration) Option {
	return func(c *config) error {
		return option.Set("WithDeadRetention", d, 0, &c.deadRetention)
	}
}
