package outbox

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
)

// noDriver is a database/sql driver that is not pgx; it never connects.
type noDriver struct{}

func (noDriver) Open(string) (driver.Conn, error) { return nil, errors.New("no connections") }

func init() { sql.Register("outbox-not-pgx", noDriver{}) }

// TestPollDefaultWithoutPgx: on PostgreSQL through a driver other than
// pgx the relay cannot LISTEN, so it polls at the ordinary default
// (100ms), not at the 1s meant for relays that notifications wake; with
// pgx, 1s unless notifications are off.
func TestPollDefaultWithoutPgx(t *testing.T) {
	for _, c := range []struct {
		driver  string
		opts    []Option
		listens bool
		poll    time.Duration
	}{
		{"outbox-not-pgx", nil, false, defaultPoll},
		{"pgx", nil, true, defaultNotifyPoll},
		{"pgx", []Option{WithoutNotify()}, false, defaultPoll},
		{"outbox-not-pgx", []Option{WithPollInterval(time.Second)}, false, time.Second},
	} {
		db, err := sql.Open(c.driver, "postgres://127.0.0.1:1/none")
		if err != nil {
			t.Fatal(err)
		}
		o, err := New(db, Postgres, "ob_poll", c.opts...)
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		if o.listens != c.listens || o.poll != c.poll {
			t.Errorf("driver %s, %d options: listens %v, polls every %v; want %v, %v", c.driver, len(c.opts), o.listens, o.poll, c.listens, c.poll)
		}
	}
}
