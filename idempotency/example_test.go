package idempotency_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/hmsplatform/synclayer/idempotency"
)

// A store's answer when another process holds the key: the Dispatcher
// tries again once the lease has expired.
func ExampleClaimResult() {
	c := idempotency.Claim{Connector: "calendar", Key: "WF-123", EventID: "evt-2", Version: 2, LeaseTTL: 15 * time.Second}
	held := time.Date(2026, 11, 29, 12, 0, 15, 0, time.UTC)
	r := idempotency.ClaimResult{Status: idempotency.ClaimBusy, Version: 1, Expires: held}
	b, _ := json.Marshal(r)
	fmt.Println(c.Key, r.Status)
	fmt.Println(string(b))
	// Output:
	// WF-123 busy
	// {"Status":"busy","Token":"","Version":1,"Expires":"2026-11-29T12:00:15Z"}
}
