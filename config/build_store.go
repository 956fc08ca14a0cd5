package config

import (
	"cmp"
	"context"
	"database/sql"

	"github.com/redis/go-redis/v9"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency/redisstore"
	"github.com/hmsplatform/synclayer/idempotency/sqlstore"

	_ "github.com/go-sql-driver/mysql" // the "mysql" driver, for mariadb
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for postgres
	_ "modernc.org/sqlite"             // the "sqlite" driver
)

// Default table names of the SQL store and log.
const (
	DefaultStoreTable = "synclayer_store"
	DefaultLogTable   = "synclayer_log"
)

// sqlKinds maps a store or log kind to its database/sql driver and
// dialect.
var sqlKinds = map[string]struct {
	driver  string
	dialect *sqlstore.Dialect
}{
	"postgres": {"pgx", sqlstore.Postgres},
	"mariadb":  {"mysql", sqlstore.MariaDB},
	"sqlite":   {"sqlite", sqlstore.SQLite},
}

// openDB opens (once per DSN) a database of a kind and checks it answers.
func (b *builder) openDB(ctx context.Context, kind, path string, v Value) (*sql.DB, error) {
	dsn, err := b.value(v)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open(sqlKinds[kind].driver, dsn)
	if err != nil {
		return nil, b.fail(path, "open %s: %v", kind, err)
	}
	if kind == "sqlite" {
		db.SetMaxOpenConns(1)
	}
	b.closeWith(func(context.Context) error { return db.Close() })
	if err := db.PingContext(ctx); err != nil {
		return nil, b.fail(path, "%s does not answer: %v", kind, redactDSN(err, dsn))
	}
	b.pingWith(db.PingContext)
	return db, nil
}

// redactDSN keeps a DSN (which may hold a password) out of an error.
func redactDSN(err error, dsn string) string {
	return redactText(err.Error(), dsn)
}

// openSQL makes the SQL store or log of section ("store" or "log") with
// open (sqlstore.New or sqlstore.NewLog) on db in table, closed with the
// service, and migrates its table unless migrate is false.
func openSQL[T interface {
	Migrate(context.Context) error
	Close() error
}](ctx context.Context, b *builder, section string, open func(*sql.DB, *sqlstore.Dialect, string, ...sqlstore.Option) (T, error),
	db *sql.DB, kind, table string, migrate *bool) (T, error) {
	t, err := open(db, sqlKinds[kind].dialect, table)
	if err != nil {
		return t, b.fail(section, "%v", err)
	}
	b.closeWith(func(context.Context) error { return t.Close() })
	if migrate == nil || *migrate {
		if err := t.Migrate(ctx); err != nil {
			return t, b.fail(section, "migrate: %v", err)
		}
	}
	return t, nil
}

// store builds the idempotency store.
func (b *builder) store(ctx context.Context) ([]synclayer.Option, error) {
	s := b.cfg.Store
	switch s.Kind {
	case "", "memory":
		return []synclayer.Option{synclayer.WithStore(&synclayer.MemoryStore{MaxEntries: s.MaxEntries})}, nil
	case "redis":
		rdb, url, err := b.redisClient(ctx, "store.url", s.URL)
		if err != nil {
			return nil, err
		}
		b.storeRedis = &storeRedis{url: url, client: rdb}
		st, err := openRedisWith(b, "store", redisstore.New, rdb, s.Prefix, redisstore.WithPrefix)
		if err != nil {
			return nil, err
		}
		return []synclayer.Option{synclayer.WithStore(st)}, nil
	}
	db, err := b.openDB(ctx, s.Kind, "store.dsn", s.DSN)
	if err != nil {
		return nil, err
	}
	st, err := openSQL(ctx, b, "store", sqlstore.New, db, s.Kind, cmp.Or(s.Table, DefaultStoreTable), s.Migrate)
	if err != nil {
		return nil, err
	}
	if s.Kind == b.cfg.Log.Kind && !b.cfg.Log.DSN.Set() {
		b.storeDB = db
	}
	return []synclayer.Option{synclayer.WithStore(st)}, nil
}

// storeRedis is the store's Redis client and URL, which a redis log on
// the same URL shares.
type storeRedis struct {
	url    string
	client *redis.Client
}

// openRedis opens a Redis client on url, closed with the service, and
// checks it answers. path is the setting, for errors.
func (b *builder) openRedis(ctx context.Context, path, url string) (*redis.Client, error) {
	ropts, err := redis.ParseURL(url)
	if err != nil {
		return nil, b.fail(path, "not a redis URL")
	}
	rdb := redis.NewClient(ropts)
	b.closeWith(func(context.Context) error { return rdb.Close() })
	if err := rdb.Ping(ctx).Err(); err != nil {
		return nil, b.fail(path, "redis does not answer: %s", redactText(err.Error(), url))
	}
	b.pingWith(func(ctx context.Context) error { return rdb.Ping(ctx).Err() })
	return rdb, nil
}

// redisClient resolves the address v of the setting path and returns
// it with a client on it: the store's when the store is redis on the same
// URL, else a new one from openRedis.
func (b *builder) redisClient(ctx context.Context, path string, v Value) (*redis.Client, string, error) {
	url, err := b.value(v)
	if err != nil {
		return nil, "", err
	}
	if sr := b.storeRedis; sr != nil && sr.url == url {
		return sr.client, url, nil
	}
	rdb, err := b.openRedis(ctx, path, url)
	return rdb, url, err
}

// openRedisWith makes the redis store or log of section ("store" or
// "log") with open (redisstore.New or redisstore.NewLog) on rdb, with
// opts and then, when the section gives a prefix, withPrefix(prefix).
func openRedisWith[T, O any](b *builder, section string, open func(redis.UniversalClient, ...O) (T, error),
	rdb *redis.Client, prefix string, withPrefix func(string) O, opts ...O) (T, error) {
	if prefix != "" {
		opts = append(opts, withPrefix(prefix))
	}
	t, err := open(rdb, opts...)
	if err != nil {
		return t, b.fail(section, "%v", err)
	}
	return t, nil
}

// redisLog builds a redis delivery log, on the store's client when the
// store is redis on the same URL (or the log gives none).
func (b *builder) redisLog(ctx context.Context) ([]synclayer.Option, error) {
	l := b.cfg.Log
	var rdb *redis.Client
	switch {
	case l.URL.Set():
		var err error
		if rdb, _, err = b.redisClient(ctx, "log.url", l.URL); err != nil {
			return nil, err
		}
	case b.storeRedis != nil:
		rdb = b.storeRedis.client
	default:
		return nil, b.fail("log.url", "required setting is missing (it defaults to store.url only when the store is redis)")
	}
	lg, err := openRedisWith(b, "log", redisstore.NewLog, rdb, l.Prefix, redisstore.WithLogPrefix,
		redisstore.WithLogRetention(l.Retention), redisstore.WithLogDeadRetention(l.DeadRetention))
	if err != nil {
		return nil, err
	}
	return []synclayer.Option{synclayer.WithDeliveryLog(lg)}, nil
}

// deliveryLog builds the delivery log.
func (b *builder) deliveryLog(ctx context.Context) ([]synclayer.Option, error) {
	l := b.cfg.Log
	switch l.Kind {
	case "", "memory":
		return []synclayer.Option{synclayer.WithDeliveryLog(&synclayer.MemoryLog{MaxEntries: l.MaxEntries})}, nil
	case "none":
		return []synclayer.Option{synclayer.WithDeliveryLog(synclayer.NoDeliveryLog)}, nil
	case "redis":
		return b.redisLog(ctx)
	}
	db := b.storeDB
	if db == nil {
		var err error
		if db, err = b.openDB(ctx, l.Kind, "log.dsn", l.DSN); err != nil {
			return nil, err
		}
	}
	lg, err := openSQL(ctx, b, "log", sqlstore.NewLog, db, l.Kind, cmp.Or(l.Table, DefaultLogTable), l.Migrate)
	if err != nil {
		return nil, err
	}
	return []synclayer.Option{synclayer.WithDeliveryLog(lg)}, nil
}
