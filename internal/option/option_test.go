package option_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer/internal/option"
)

type config struct {
	timeout time.Duration
	name    string
}

type Option func(*config) error

func withTimeout(d time.Duration) Option {
	return func(c *config) error {
		if err := option.NonNegative("WithTimeout", d); err != nil {
			return err
		}
		c.timeout = option.Default(d, 5*time.Second)
		return nil
	}
}

func withName(s string) Option {
	return func(c *config) error { c.name = s; return nil }
}

func TestApply(t *testing.T) {
	var c config
	if err := option.Apply("New", &c, []Option{nil, withTimeout(0), withName("x")}); err != nil {
		t.Fatal(err)
	}
	if c.timeout != 5*time.Second || c.name != "x" {
		t.Fatalf("config = %+v: a zero timeout must mean the default", c)
	}

	c = config{}
	err := option.Apply("New", &c, []Option{withTimeout(-time.Second), withName("never")})
	if !errors.Is(err, option.ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
	if got, want := err.Error(), "New: invalid option WithTimeout(-1s): must not be negative"; got != want {
		t.Fatalf("err = %q, want %q", got, want)
	}
	if c.name != "" {
		t.Fatal("Apply ran an option after a failing one")
	}
}

func ExampleApply() {
	var c config
	err := option.Apply("New", &c, []Option{withTimeout(-time.Second)})
	fmt.Println(err)
	// Output: New: invalid option WithTimeout(-1s): must not be negative
}

// A package's Kind keeps its own identity and text, and matches ErrInvalid
// too; two kinds with the same text are still two sentinels.
func TestKind(t *testing.T) {
	errConfig := option.Kind("store: invalid configuration")
	err := fmt.Errorf("%w: New needs a client", errConfig)
	if !errors.Is(err, errConfig) || !errors.Is(err, option.ErrInvalid) {
		t.Errorf("errors.Is(%v, its kind / ErrInvalid) = %v / %v; want both true", err, errors.Is(err, errConfig), errors.Is(err, option.ErrInvalid))
	}
	if got, want := err.Error(), "store: invalid configuration: New needs a client"; got != want {
		t.Errorf("text %q, want %q", got, want)
	}
	if errors.Is(err, option.Kind("store: invalid configuration")) {
		t.Error("a second Kind with the same text matched the first")
	}
	if errors.Is(errors.New("other"), errConfig) {
		t.Error("an unrelated error matched the kind")
	}
}

func TestSet(t *testing.T) {
	n := 7
	if err := option.Set("WithBatch", 0, 100, &n); err != nil || n != 100 {
		t.Fatalf("Set(0) = %v, n = %d; want the default 100", err, n)
	}
	if err := option.Set("WithBatch", 5, 100, &n); err != nil || n != 5 {
		t.Fatalf("Set(5) = %v, n = %d; want 5", err, n)
	}
	err := option.Set("WithBatch", -1, 100, &n)
	if !errors.Is(err, option.ErrInvalid) || err.Error() != "invalid option WithBatch(-1): must not be negative" || n != 5 {
		t.Fatalf("Set(-1) = %v, n = %d; want the invalid-option error and n unchanged", err, n)
	}
}
