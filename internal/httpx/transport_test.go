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
