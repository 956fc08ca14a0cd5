package testproc_test

import (
	"fmt"

	"github.com/hmsplatform/synclayer/internal/testproc"
)

// A child's output goes into a Buffer, which the parent reads while the
// child still writes: here the marks a child printed before it was killed.
func ExampleBuffer() {
	var out testproc.Buffer
	fmt.Fprintln(&out, "MARK evt-1")
	fmt.Fprintln(&out, "log line")
	fmt.Fprintln(&out, "MARK evt-2")
	marks := out.Lines("MARK ")
	fmt.Println(len(marks), marks["MARK evt-1"], marks["MARK evt-2"])
	// Output:
	// 2 true true
}
