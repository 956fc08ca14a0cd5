package config_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer/bus/internal/config"
	"github.com/hmsplatform/synclayer/internal/option"
)

func TestZeroMeansDefault(t *testing.T) {
	var s config.Settings
	opts := []config.Option{config.MaxDeliveries(3), config.MaxDeliveries(0), config.Concurrency(0), config.RedeliveryDelay(0), config.Group("")}
	if err := option.Apply("NewBus", &s, opts); err != nil {
		t.Fatal(err)
	}
	s.Resolve(config.Defaults)
	if s != config.Defaults {
		t.Errorf("settings = %+v, want the defaults %+v: a later zero must restore the default", s, config.Defaults)
	}
}

func TestNegativeIsAnError(t *testing.T) {
	for _, tc := range []struct {
		opt  config.Option
		want string
	}{
		{config.MaxDeliveries(-1), "nats: NewBus: invalid option WithMaxDeliveries(-1): must not be negative"},
		{config.Concurrency(-2), "nats: NewBus: invalid option WithConcurrency(-2): must not be negative"},
		{config.RedeliveryDelay(-time.Second), "nats: NewBus: invalid option WithRedeliveryDelay(-1s): must not be negative"},
	} {
		var s config.Settings
		err := option.Apply("nats: NewBus", &s, []config.Option{tc.opt})
		if !errors.Is(err, option.ErrInvalid) || err.Error() != tc.want {
			t.Errorf("err = %v, want %q wrapping ErrInvalid", err, tc.want)
		}
	}
}

// A name the broker does not allow is an error naming the option; "" is
// the default and always allowed.
func TestGroupWhere(t *testing.T) {
	lower := func(s string) bool { return strings.ToLower(s) == s }
	var s config.Settings
	err := option.Apply("nats: NewBus", &s, []config.Option{config.GroupWhere("A", lower, "lower case only")})
	if want := "nats: NewBus: invalid option WithGroup(A): lower case only"; !errors.Is(err, option.ErrInvalid) || err.Error() != want {
		t.Errorf("err = %v, want %q wrapping ErrInvalid", err, want)
	}
	for _, name := range []string{"a", ""} {
		s.Group = "before"
		if err := option.Apply("nats: NewBus", &s, []config.Option{config.GroupWhere(name, lower, "lower case only")}); err != nil || s.Group != name {
			t.Errorf("GroupWhere(%q): group %q, err %v; want it set", name, s.Group, err)
		}
	}
}

func TestRetryDelayDoublesUpTo64Times(t *testing.T) {
	s := config.Settings{RedeliveryDelay: time.Second}
	for deliveries, want := range map[int]time.Duration{0: time.Second, 1: time.Second, 2: 2 * time.Second, 7: 64 * time.Second, 20: 64 * time.Second} {
		if got := s.RetryDelay(deliveries); got != want {
			t.Errorf("RetryDelay(%d) = %v, want %v", deliveries, got, want)
		}
	}
}
