package storetest

import (
	"slices"
	"testing"
	"time"
)

// ReportVs reports the time per operation of a baseline and of another
// way, both run n times, and the other's rate as a fraction of the
// baseline's (ratio).
func ReportVs(b *testing.B, n int, baseName string, base time.Duration, otherName string, other time.Duration, ratio string) {
	b.ReportMetric(float64(base.Nanoseconds())/float64(n), baseName)
	b.ReportMetric(float64(other.Nanoseconds())/float64(n), otherName)
	b.ReportMetric(float64(base)/float64(other), ratio)
}

// ReportMedian reports the median of ds: unlike the mean, it shrugs off the
// stalls that other processes on a shared machine cause.
func ReportMedian(b *testing.B, name string, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	b.ReportMetric(float64(ds[len(ds)/2].Nanoseconds()), name)
}
