package conntest

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/hmsplatform/synclayer/synclayertest"
)

// Failer returns the Fail of a synclayertest.Partner whose fake takes
// faults of type F through inject: it injects, times over, the fault that
// stands for each failure the suite asks for (retryable, permanent, stall,
// lost), and reports false for any other.
func Failer[F any](inject func(...F), retryable, permanent, stall, lost F) func(synclayertest.Failure, int) bool {
	return func(failure synclayertest.Failure, times int) bool {
		var f F
		switch failure {
		case synclayertest.FailRetryable:
			f = retryable
		case synclayertest.FailPermanent:
			f = permanent
		case synclayertest.FailStall:
			f = stall
		case synclayertest.FailLostResponse:
			f = lost
		default:
			return false
		}
		for range times {
			inject(f)
		}
		return true
	}
}

// SummaryVersions reads the payload versions of the conformance suite
// back from the texts ("payload v3") a partner holds for one key.
func SummaryVersions(texts []string) ([]int64, error) {
	var out []int64
	for _, s := range texts {
		v, err := strconv.ParseInt(strings.TrimPrefix(s, "payload v"), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("summary %q", s)
		}
		out = append(out, v)
	}
	return out, nil
}
