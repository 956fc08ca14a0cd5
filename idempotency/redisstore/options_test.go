package redisstore_test

import (
	"errors"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency/redisstore"
	"github.com/hmsplatform/synclayer/internal/option"
)

// An empty prefix means the default; a prefix with a brace is an error that
// names WithPrefix and wraps ErrInvalid. New does not connect.
func TestOptions(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer client.Close()
	s, err := redisstore.New(client, redisstore.WithPrefix(""), nil)
	if err != nil || s.Prefix() != redisstore.DefaultPrefix {
		t.Errorf(`WithPrefix(""): prefix %q, %v; want the default`, s.Prefix(), err)
	}
	for _, p := range []string{"a{", "}b", "{x}"} {
		_, err := redisstore.New(client, redisstore.WithPrefix(p))
		if want := "redisstore: New: invalid option WithPrefix(" + p + "): contains a brace, which the store uses for hash tags"; !errors.Is(err, option.ErrInvalid) || err.Error() != want {
			t.Errorf("WithPrefix(%q): %v, want %q wrapping ErrInvalid", p, err, want)
		}
	}
	if _, err := redisstore.New(nil); !errors.Is(err, redisstore.ErrConfig) || !errors.Is(err, synclayer.ErrInvalidOption) {
		t.Errorf("New(nil): %v, want ErrConfig, which is an ErrInvalidOption", err)
	}
}
