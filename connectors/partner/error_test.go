package partner_test

import (
	"context"
	"errors"
	"testing"

	"github.com/hmsplatform/synclayer/connectors/partner"
)

func TestErrorText(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  *partner.Error
		want string
	}{
		{"status and body", &partner.Error{Prefix: "soap", Method: "POST", URL: "https://s.test/svc", StatusCode: 500,
			Status: "500 Internal Server Error", Body: "<fault/>", Kind: partner.ErrUnavailable},
			`soap: POST https://s.test/svc: 500 Internal Server Error: body: "<fault/>"`},
		{"code without reason", &partner.Error{Method: "PUT", URL: "https://r.test/a", StatusCode: 418, Kind: partner.ErrRejected},
			"PUT https://r.test/a: 418"},
		{"no response: the category", &partner.Error{Prefix: "rest", Method: "PUT", URL: "https://r.test/a", Kind: partner.ErrNetwork},
			"rest: PUT https://r.test/a: network error"},
		{"no response: the cause's own text", &partner.Error{Prefix: "rest", Method: "PUT", URL: "https://r.test/a",
			Kind: partner.ErrNetwork, Err: context.DeadlineExceeded},
			"rest: PUT https://r.test/a: context deadline exceeded"},
		{"Message stands for the cause's text", &partner.Error{Prefix: "rest", StatusCode: 409, Status: "409 Conflict",
			Kind: partner.ErrConflict, Err: errors.New("token=s3cret"), Message: "token=…"},
			"rest: 409 Conflict: token=…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("Error() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestErrorUnwrap(t *testing.T) {
	e := &partner.Error{Kind: partner.ErrUnavailable, Err: context.DeadlineExceeded}
	if !errors.Is(e, partner.ErrUnavailable) || !errors.Is(e, context.DeadlineExceeded) {
		t.Errorf("errors.Is misses the category or the cause: %v", e.Unwrap())
	}
	if errors.Is(e, partner.ErrNetwork) {
		t.Error("errors.Is matches a category the error is not")
	}
	if len((&partner.Error{}).Unwrap()) != 0 {
		t.Error("an empty Error unwraps to something")
	}
}

func TestRetryable(t *testing.T) {
	retryable := map[error]bool{
		partner.ErrNetwork: true, partner.ErrUnavailable: true, partner.ErrRateLimited: true,
		partner.ErrNotFound: false, partner.ErrConflict: false, partner.ErrUnauthorized: false,
		partner.ErrRejected: false, partner.ErrPayload: false, partner.ErrKeyMismatch: false, nil: false,
	}
	for kind, want := range retryable {
		if got := partner.Retryable(kind); got != want {
			t.Errorf("Retryable(%v) = %v, want %v", kind, got, want)
		}
		if got := (&partner.Error{Kind: kind}).Retryable(); got != want {
			t.Errorf("Error{Kind: %v}.Retryable() = %v, want %v", kind, got, want)
		}
	}
}
