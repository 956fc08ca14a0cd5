package redisstore

import (
	"strings"

	"github.com/hmsplatform/synclayer/internal/option"
)

// Option configures a [Store]. A zero value means the default; an invalid
// value makes [New] return an error that names the option and wraps
// synclayer.ErrInvalidOption.
type Option func(*Store) error

// DefaultPrefix is the key prefix when none is set.
const DefaultPrefix = "synclayer:idem:"

// WithPrefix sets the prefix of every key the store writes (default, and
// for "", [DefaultPrefix]). Stores with different prefixes on one Redis
// are independent. A prefix with '{' or '}' is an error: braces are the
// store's hash tags.
func WithPrefix(p string) Option {
	return func(s *Store) (err error) {
		s.prefix, err = prefix("WithPrefix", p, DefaultPrefix, "the store uses for hash tags")
		return err
	}
}

// prefix is the rule of the key prefix options, of the option name: "" is
// def, and a prefix with a brace is an error, as braces are what the keys
// after it use for (usedFor).
func prefix(name, p, def, usedFor string) (string, error) {
	if strings.ContainsAny(p, "{}") {
		return "", option.Invalid(name, p, "contains a brace, which "+usedFor)
	}
	return option.Default(p, def), nil
}
