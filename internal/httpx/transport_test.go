package httpx

import (
	"net/http"
	"testing"
)

type otherTransport struct{}

func (otherTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, http.ErrNotSupported
}

func TestNewTransport(t *testing.T) {
	tr, shared := NewTransport(7)
	ht, ok := tr.(*http.Transport)
	if !ok || shared || ht == http.DefaultTransport {
		t.Fatalf("NewTransport = %T (shared %v), want a clone of the default *http.Transport", tr, shared)
	}
	if ht.MaxIdleConnsPerHost != 7 || ht.MaxConnsPerHost != 7 || ht.MaxIdleConns < 7 || ht.Proxy == nil {
		t.Errorf("pool %d/%d/%d, proxy set %v; want 7 per host and the default's proxy", ht.MaxIdleConnsPerHost, ht.MaxConnsPerHost, ht.MaxIdleConns, ht.Proxy != nil)
	}

	saved := http.DefaultTransport
	t.Cleanup(func() { http.DefaultTransport = saved })
	http.DefaultTransport = otherTransport{}
	if tr, shared := NewTransport(7); tr != (otherTransport{}) || !shared {
		t.Errorf("with a replaced default: %T (shared %v), want the replacement, shared", tr, shared)
	}
	http.DefaultTransport = nil
	if tr, shared := NewTransport(0); shared {
		t.Errorf("with no default: shared %v", shared)
	} else if ht, ok := tr.(*http.Transport); !ok || ht.MaxConnsPerHost != 1 {
		t.Errorf("with no default: %T, want a fresh *http.Transport with 1 connection per host", tr)
	}
}

func TestNewClient(t *testing.T) {
	caller := &http.Client{}
	if c := NewClient(caller, 4, nil); c.Client != caller || c.owned {
		t.Errorf("with a caller's client: %+v, want it, not owned", c)
	}
	stop := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c := NewClient(nil, 4, stop)
	if ht, ok := c.Transport.(*http.Transport); !ok || ht.MaxConnsPerHost != 4 || !c.owned || c.CheckRedirect == nil {
		t.Errorf("built: %T owned %v redirect policy %v, want an owned pool of 4 with the policy", c.Transport, c.owned, c.CheckRedirect != nil)
	}
	if err := c.Close(); err != nil {
		t.Error(err)
	}

	saved := http.DefaultTransport
	t.Cleanup(func() { http.DefaultTransport = saved })
	http.DefaultTransport = otherTransport{}
	if c := NewClient(nil, 4, nil); c.owned || c.Transport != (otherTransport{}) {
		t.Errorf("with a replaced default: %T owned %v, want the replacement, not owned", c.Transport, c.owned)
	}
}
