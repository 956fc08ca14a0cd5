//go:build race

package testproc

// Race reports whether the binary was built with -race: tests that the
// race detector slows down run smaller workloads under it.
const Race = true
