package httpx

import "net/http"

// NewTransport returns the transport of a client a connector builds for a
// partner it calls with up to concurrency requests at once.
//
// When http.DefaultTransport is an *http.Transport it is cloned (keeping
// the process's proxy and TLS settings) with a pool of concurrency
// connections per host, all kept when idle; shared is false. When a
// program or a test replaced it with another RoundTripper (httpmock does),
// that one is returned as it is, so the replacement sees the connector's
// requests as it sees everyone's; shared is true, and the caller must not
// treat the transport as its own.
func NewTransport(concurrency int) (rt http.RoundTripper, shared bool) {
	def, ok := http.DefaultTransport.(*http.Transport)
	if !ok || def == nil {
		if http.DefaultTransport != nil {
			return http.DefaultTransport, true
		}
		def = &http.Transport{Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true}
	}
	tr := def.Clone()
	concurrency = max(concurrency, 1)
	tr.MaxIdleConnsPerHost = concurrency
	tr.MaxConnsPerHost = concurrency
	tr.MaxIdleConns = max(tr.MaxIdleConns, concurrency)
	return tr, false
}
