package redisstore_test

import (
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/hmsplatform/synclayer/idempotency/redisstore"
)

// New only checks its configuration; it does not connect. Braces are
// refused in a prefix, as they are the store's cluster hash tags.
func ExampleNew() {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer client.Close()

	store, err := redisstore.New(client)
	fmt.Println(store.Prefix(), err)

	store, err = redisstore.New(client, redisstore.WithPrefix("billing:idem:"))
	fmt.Println(store.Prefix(), err)

	_, err = redisstore.New(client, redisstore.WithPrefix("bad{prefix}:"))
	fmt.Println(err)

	// Output:
	// synclayer:idem: <nil>
	// billing:idem: <nil>
	// redisstore: New: invalid option WithPrefix(bad{prefix}:): contains a brace, which the store uses for hash tags
}
