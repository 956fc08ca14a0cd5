package sqlstore_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer/idempotency/sqlstore"
	"github.com/hmsplatform/synclayer/internal/option"
)

// One Option type serves New and NewLog: zero values mean the defaults,
// and an invalid value makes either constructor return an error that names
// the option and wraps ErrInvalid.
func TestOptions(t *testing.T) {
	db := memoryDB(t)
	zero := []sqlstore.Option{sqlstore.WithCleanupBatch(0), sqlstore.WithMaxBatch(0), sqlstore.WithInflight(0),
		sqlstore.WithWarn(nil), sqlstore.WithDeadRetention(0), nil}
	if _, err := sqlstore.New(db, sqlstore.SQLite, "t", zero...); err != nil {
		t.Errorf("New with zero options: %v", err)
	}
	if _, err := sqlstore.NewLog(db, sqlstore.SQLite, "l", zero...); err != nil {
		t.Errorf("NewLog with zero options: %v", err)
	}
	for _, c := range []struct {
		opt  sqlstore.Option
		name string
	}{
		{sqlstore.WithCleanupBatch(-1), "WithCleanupBatch"},
		{sqlstore.WithMaxBatch(-1), "WithMaxBatch"},
		{sqlstore.WithInflight(-1), "WithInflight"},
		{sqlstore.WithDeadRetention(-time.Hour), "WithDeadRetention"},
	} {
		_, err := sqlstore.New(db, sqlstore.SQLite, "t", c.opt)
		if !errors.Is(err, option.ErrInvalid) || !strings.HasPrefix(err.Error(), "sqlstore: New: invalid option "+c.name+"(") {
			t.Errorf("New with %s: %v, want an error naming it that wraps ErrInvalid", c.name, err)
		}
		_, err = sqlstore.NewLog(db, sqlstore.SQLite, "l", c.opt)
		if !errors.Is(err, option.ErrInvalid) || !strings.HasPrefix(err.Error(), "sqlstore: NewLog: invalid option "+c.name+"(") {
			t.Errorf("NewLog with %s: %v, want an error naming it that wraps ErrInvalid", c.name, err)
		}
	}
}

// A zero after a set value means the default again, not "keep what an
// earlier option set": WithInflight(5) then WithInflight(0) uses the
// default 2 batches in flight, which a pool of BatchConns(2) connections
// serves without a warning.
func TestZeroOptionMeansTheDefaultAgain(t *testing.T) {
	db := memoryDB(t)
	db.SetMaxOpenConns(sqlstore.BatchConns(2))
	for _, c := range []struct {
		opts []sqlstore.Option
		warn bool
	}{
		{[]sqlstore.Option{sqlstore.WithInflight(5)}, true},
		{[]sqlstore.Option{sqlstore.WithInflight(5), sqlstore.WithInflight(0)}, false},
	} {
		var got []error
		opts := append(c.opts, sqlstore.WithWarn(func(err error) { got = append(got, err) }))
		if _, err := sqlstore.New(db, sqlstore.SQLite, "t", opts...); err != nil {
			t.Fatal(err)
		}
		if warned := len(got) == 1 && errors.Is(got[0], sqlstore.ErrPoolTooSmall); warned != c.warn || len(got) > 1 {
			t.Errorf("%d options ending in WithInflight: warnings %v; want ErrPoolTooSmall: %v", len(c.opts), got, c.warn)
		}
	}
}
