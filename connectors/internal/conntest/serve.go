package conntest

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// Serve starts an httptest server for a partner fake, through wrap (a
// chaos handler, say) when it is not nil, closed when the test ends.
func Serve(t testing.TB, fake http.Handler, wrap func(http.Handler) http.Handler) *httptest.Server {
	if wrap != nil {
		fake = wrap(fake)
	}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return srv
}
