package redisstore_test

import (
	"github.com/redis/go-redis/v9"

	"github.com/hmsplatform/synclayer/idempotency/redisstore"
)

// localStore connects to the Redis on 127.0.0.1:6379, which the examples
// that need a server assume, and opens a store over it under the prefix
// "example:idem:". The caller closes the client.
func localStore() (*redisstore.Store, *redis.Client) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	store, err := redisstore.New(client, redisstore.WithPrefix("example:idem:"))
	if err != nil {
		panic(err)
	}
	return store, client
}
