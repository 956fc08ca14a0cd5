package demo_test

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/hmsplatform/synclayer/examples/internal/demo"
)

// A fake records API on a free port keeps what is PUT to it, and says so.
func ExampleRecords() {
	archive := demo.NewRecords("archive")
	url, stop, err := demo.Serve(archive)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer stop()
	req, _ := http.NewRequest(http.MethodPut, url+"/records/WF-1", strings.NewReader(`{"workflowId":"WF-1"}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.Status)
	fmt.Print(archive.Describe())
	// Output:
	// 201 Created
	//   archive   1 record(s), 1 write(s) so far
	//             /records/WF-1 {"workflowId":"WF-1"}
}
