package httpx

import "net/http"

// Client is the http.Client a connector sends with: the caller's, or one
// the connector built. Close releases the idle connections of a built one
// and leaves a caller's alone.
type Client struct {
	*http.Client
	owned bool
}

// NewClient returns caller wrapped when it is not nil. Else it builds a
// client on [NewTransport] for up to concurrency requests at once, with
// checkRedirect as its redirect policy (nil follows redirects); a replaced
// http.DefaultTransport (httpmock) is used as it is and is not the
// connector's to close.
func NewClient(caller *http.Client, concurrency int, checkRedirect func(*http.Request, []*http.Request) error) Client {
	if caller != nil {
		return Client{Client: caller}
	}
	tr, shared := NewTransport(concurrency)
	return Client{Client: &http.Client{Transport: tr, CheckRedirect: checkRedirect}, owned: !shared}
}

// Close releases the idle connections of a client built by NewClient. It
// always returns nil.
func (c Client) Close() error {
	if c.owned {
		c.CloseIdleConnections()
	}
	return nil
}

// DefaultConcurrency is the connection pool a connector's own client keeps
// when its Config leaves Concurrency zero: the dispatcher's default number
// of Sync calls in flight per connector (synclayer.WithConcurrency).
const DefaultConcurrency = 32
