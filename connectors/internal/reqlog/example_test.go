package reqlog_test

import (
	"fmt"

	"github.com/hmsplatform/synclayer/connectors/internal/reqlog"
)

// A fake partner adds one line per request; the test reads them back.
func ExampleLog() {
	var l reqlog.Log
	l.Add("PUT /events/WF-1 201")
	l.Add("GET /events/WF-1 200")
	fmt.Println(l.Lines())
	// Output:
	// [PUT /events/WF-1 201 GET /events/WF-1 200]
}
