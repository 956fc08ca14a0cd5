package partner_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/hmsplatform/synclayer/connectors/partner"
)

// A caller branches on the category with errors.Is and reads the details
// of the exchange with errors.As, whichever connector returned the error.
func Example() {
	var err error = fmt.Errorf("sync WF-1: %w", &partner.Error{
		Prefix: "rest", Method: "PUT", URL: "https://records.example.com/records/WF-1",
		StatusCode: 429, Status: "429 Too Many Requests", RetryAfter: 2 * time.Second,
		Kind: partner.ErrRateLimited,
	})

	fmt.Println(errors.Is(err, partner.ErrRateLimited), errors.Is(err, partner.ErrNotFound))
	var e *partner.Error
	if errors.As(err, &e) {
		fmt.Println(e.StatusCode, e.Retryable(), e.RetryAfter)
	}
	fmt.Println(err)
	// Output:
	// true false
	// 429 true 2s
	// sync WF-1: rest: PUT https://records.example.com/records/WF-1: 429 Too Many Requests (retry after 2s)
}
