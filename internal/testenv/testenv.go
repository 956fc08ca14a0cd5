// Package testenv finds the real services that tests talk to (PostgreSQL,
// MariaDB, Redis, RabbitMQ, NATS) and applies the project's rule: a test
// whose service is unreachable is skipped with a clear message, unless
// SYNCLAYER_REQUIRE_SERVICES=1 (set by .ci/run), in which case it fails.
package testenv

import (
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// A Service is a real dependency of the tests, found through an
// environment variable with a default for the development machine.
type Service struct {
	Name    string // for messages: "PostgreSQL"
	EnvVar  string // e.g. SYNCLAYER_POSTGRES_DSN
	Default string // used when EnvVar is unset
}

// The services of the development machine and CI (see DESIGN.md).
var (
	Postgres = Service{"PostgreSQL", "SYNCLAYER_POSTGRES_DSN", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"}
	MySQL    = Service{"MariaDB", "SYNCLAYER_MYSQL_DSN", "root@tcp(127.0.0.1:3306)/test?parseTime=true"}
	Redis    = Service{"Redis", "SYNCLAYER_REDIS_ADDR", "127.0.0.1:6379"}
	RabbitMQ = Service{"RabbitMQ", "SYNCLAYER_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"}
	NATS     = Service{"NATS JetStream", "SYNCLAYER_NATS_URL", "nats://127.0.0.1:4222"}
)

// Required reports whether SYNCLAYER_REQUIRE_SERVICES=1.
func Required() bool { return os.Getenv("SYNCLAYER_REQUIRE_SERVICES") == "1" }

// Addr returns the service's configured address or DSN without checking it.
func (s Service) Addr() string {
	if v := os.Getenv(s.EnvVar); v != "" {
		return v
	}
	return s.Default
}

// Need returns the service's address or DSN if its host:port accepts a TCP
// connection; otherwise it skips t, or fails it when services are required.
func (s Service) Need(t testing.TB) string {
	t.Helper()
	addr := s.Addr()
	hp := hostPort(addr)
	conn, err := net.DialTimeout("tcp", hp, 2*time.Second)
	if err != nil {
		Unavailable(t, s.Name+" at "+hp+" (set "+s.EnvVar+")", err)
		return ""
	}
	conn.Close()
	return addr
}

// Unavailable skips t because what is missing, or fails it when
// SYNCLAYER_REQUIRE_SERVICES=1.
func Unavailable(t testing.TB, what string, err error) {
	t.Helper()
	if Required() {
		t.Fatalf("%s is required (SYNCLAYER_REQUIRE_SERVICES=1) but unavailable: %v", what, err)
	}
	t.Skipf("%s unavailable, skipping: %v", what, err)
}

// hostPort extracts host:port from a URL, a go-sql-driver DSN
// (user@tcp(host:port)/db) or a bare host:port.
func hostPort(addr string) string {
	if i := strings.Index(addr, "tcp("); i >= 0 {
		rest := addr[i+4:]
		if j := strings.IndexByte(rest, ')'); j >= 0 {
			return rest[:j]
		}
	}
	if u, err := url.Parse(addr); err == nil && u.Host != "" {
		host := u.Host
		if i := strings.LastIndexByte(host, '@'); i >= 0 {
			host = host[i+1:]
		}
		if _, _, err := net.SplitHostPort(host); err != nil {
			switch u.Scheme {
			case "postgres", "postgresql":
				host += ":5432"
			case "amqp":
				host += ":5672"
			case "nats":
				host += ":4222"
			case "redis":
				host += ":6379"
			}
		}
		return host
	}
	return addr
}
