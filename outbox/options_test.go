package outbox_test

import (
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer/internal/option"
	"github.com/hmsplatform/synclayer/outbox"
)

// Zero option values mean the defaults; an invalid value makes New return
// an error that names the option and wraps ErrInvalid.
func TestOptions(t *testing.T) {
	db, err := sql.Open("sqlite", "file::memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := outbox.New(db, outbox.SQLite, "t", outbox.WithBatch(0), outbox.WithLease(0),
		outbox.WithPollInterval(0), outbox.WithLogger(nil), nil); err != nil {
		t.Errorf("New with zero options: %v", err)
	}
	for _, c := range []struct {
		opt  outbox.Option
		name string
	}{
		{outbox.WithBatch(-1), "WithBatch"},
		{outbox.WithLease(-time.Second), "WithLease"},
		{outbox.WithLease(time.Millisecond), "WithLease"},
		{outbox.WithPollInterval(-time.Second), "WithPollInterval"},
	} {
		_, err := outbox.New(db, outbox.SQLite, "t", c.opt)
		if !errors.Is(err, option.ErrInvalid) || !strings.HasPrefix(err.Error(), "outbox: New: invalid option "+c.name+"(") {
			t.Errorf("%s: New error %v, want one that names it and wraps ErrInvalid", c.name, err)
		}
	}
}

// A Dialect reads and writes as its name; an unknown one is an error both
// ways, and a failed decode leaves the value as it was.
func TestDialectText(t *testing.T) {
	for _, d := range []outbox.Dialect{outbox.Postgres, outbox.MariaDB, outbox.SQLite} {
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatalf("marshal %v: %v", d, err)
		}
		var back outbox.Dialect
		if err := json.Unmarshal(b, &back); err != nil || back != d || d.String() != strings.Trim(string(b), `"`) {
			t.Errorf("%v: %s decodes to %v, %v", d, b, back, err)
		}
	}
	if _, err := json.Marshal(outbox.Dialect("oracle")); err == nil || !strings.Contains(err.Error(), `outbox: unknown dialect "oracle"`) {
		t.Errorf("marshal oracle: %v, want an unknown-dialect error", err)
	}
	d := outbox.SQLite
	if err := json.Unmarshal([]byte(`"oracle"`), &d); err == nil || d != outbox.SQLite {
		t.Errorf("unmarshal oracle: %v, left %v; want an error and SQLite kept", err, d)
	}
}
