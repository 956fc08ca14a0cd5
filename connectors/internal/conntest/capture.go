package conntest

import (
	"io"
	"net/http"

	"github.com/jarcoal/httpmock"
)

// Sent is the request a responder of [Capture] took last, and its body
// (empty when it had none). Read it after the call that sent the request
// returned.
type Sent struct {
	Request *http.Request
	Body    []byte
}

// Capture registers at mt a responder to method url that keeps the
// request it takes and answers status with body.
func Capture(mt *httpmock.MockTransport, method, url string, status int, body string) *Sent {
	s := new(Sent)
	mt.RegisterResponder(method, url, func(r *http.Request) (*http.Response, error) {
		s.Request, s.Body = r, nil
		if r.Body != nil {
			s.Body, _ = io.ReadAll(r.Body)
		}
		return httpmock.NewStringResponse(status, body), nil
	})
	return s
}
