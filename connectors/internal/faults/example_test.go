package faults_test

import (
	"fmt"

	"github.com/hmsplatform/synclayer/connectors/internal/faults"
)

// A fake partner queues the faults a test injects and takes the first
// one that matches each request.
func ExampleQueue() {
	type fault struct {
		method string
		status int
	}
	var q faults.Queue[fault]
	q.Inject(fault{"PUT", 503}, fault{"GET", 404})
	isGet := func(f fault) bool { return f.method == "GET" }
	fmt.Println(*q.Take(isGet))
	fmt.Println(q.Take(isGet))
	// Output:
	// {GET 404}
	// <nil>
}
