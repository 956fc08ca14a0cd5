package monitor_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/internal/option"
	"github.com/hmsplatform/synclayer/monitor"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// An invalid option makes New return an error that wraps ErrInvalid and
// names the option; New never panics, and a zero value means the default.
func TestOptions(t *testing.T) {
	d := synclayertest.NewDispatcher(t, new(synclayer.Registry), synclayer.WithObserver(synclayer.NoObserver))
	empty := &fakeBacklog{}
	for _, c := range []struct {
		opts []monitor.Option
		name string // in the error; "" for valid options
	}{
		{[]monitor.Option{monitor.WithRateWindow(0), monitor.WithStatusInterval(0), monitor.WithTokenTTL(0),
			monitor.WithMaxStreams(0), monitor.WithStreamWriteTimeout(0), monitor.WithTitle(""),
			monitor.WithTrustedOrigin(""), monitor.WithAuthorize(nil), monitor.WithAllowedHosts(), nil}, ""},
		{[]monitor.Option{monitor.WithRateWindow(-time.Second)}, "WithRateWindow"},
		{[]monitor.Option{monitor.WithStatusInterval(-time.Second)}, "WithStatusInterval"},
		{[]monitor.Option{monitor.WithTokenTTL(time.Millisecond)}, "WithTokenTTL"},
		{[]monitor.Option{monitor.WithMaxStreams(-1)}, "WithMaxStreams"},
		{[]monitor.Option{monitor.WithStreamWriteTimeout(-time.Second)}, "WithStreamWriteTimeout"},
		{[]monitor.Option{monitor.WithTrustedOrigin("not an origin")}, "WithTrustedOrigin"},
		{[]monitor.Option{monitor.WithAllowedHosts("http://x/")}, "WithAllowedHosts"},
		{[]monitor.Option{monitor.WithBacklog("", empty)}, "WithBacklog"},
		{[]monitor.Option{monitor.WithBacklog("x", nil)}, "WithBacklog"},
		{[]monitor.Option{monitor.WithBacklog("x\n", empty)}, "WithBacklog"},
		{[]monitor.Option{monitor.WithBacklog("x", empty), monitor.WithBacklog("x", empty)}, "WithBacklog"},
	} {
		h, err := monitor.New(d, c.opts...)
		if c.name == "" {
			if err != nil {
				t.Errorf("zero options: %v", err)
				continue
			}
			h.Close()
			continue
		}
		if !errors.Is(err, option.ErrInvalid) || !strings.HasPrefix(err.Error(), "monitor: New: invalid option "+c.name+"(") {
			t.Errorf("%s: New error %v, want one that names the option and wraps ErrInvalid", c.name, err)
		}
		if h != nil {
			t.Errorf("%s: New returned a handler with its error", c.name)
		}
	}
	if _, err := monitor.New(nil); !errors.Is(err, option.ErrInvalid) {
		t.Errorf("New(nil): %v, want an error wrapping ErrInvalid", err)
	}
}
