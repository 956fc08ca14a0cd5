package redisstore_test

import (
	"context"
	"fmt"
	"time"

	"github.com/hmsplatform/synclayer/idempotency"
)

// A holder takes a short lease and renews it while its push runs, as the
// dispatcher does through idempotency.LeaseRenewer; if it dies, the key is
// free again within one lease TTL. (It needs a Redis server, so it is
// compiled but not run.)
func ExampleStore_Renew() {
	store, client := localStore()
	defer client.Close()
	ctx := context.Background()
	c := idempotency.Claim{Connector: "calendar", Key: "workflow-42", EventID: "evt-1",
		LeaseTTL: 10 * time.Second, Retention: 24 * time.Hour}
	r, err := store.Claim(ctx, c)
	if err != nil || r.Status != idempotency.ClaimAcquired {
		fmt.Println(r.Status, err)
		return
	}
	push := time.After(25 * time.Second) // a slow partner
	tick := time.NewTicker(c.LeaseTTL / 3)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			if held, err := store.Renew(ctx, c, r.Token); err != nil || !held {
				fmt.Println("lease lost:", err)
				return
			}
		case <-push:
			fmt.Println(store.Complete(ctx, c, r.Token))
			return
		}
	}
}
