package testenv_test

import (
	"fmt"

	"github.com/hmsplatform/synclayer/internal/testenv"
)

// A service's address comes from its environment variable, or its
// default when that is unset; a test calls Need to skip (or, with
// SYNCLAYER_REQUIRE_SERVICES=1, fail) when nothing answers there.
func ExampleService_Addr() {
	s := testenv.Service{Name: "Example broker", EnvVar: "SYNCLAYER_EXAMPLE_BROKER_URL", Default: "nats://127.0.0.1:4222"}
	fmt.Println(s.Addr())
	// Output:
	// nats://127.0.0.1:4222
}
