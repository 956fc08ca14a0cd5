package bus_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus"
)

// TestBatchError: the message counts the failures and names the first;
// errors.Is finds each event's error through it.
func TestBatchError(t *testing.T) {
	down := errors.New("broker down")
	err := error(&bus.BatchError{Errs: []error{nil, synclayer.Permanent(errors.New("bad type")), nil, down}})
	if msg := err.Error(); !strings.Contains(msg, "2 of 4 events failed") || !strings.Contains(msg, "bad type") {
		t.Errorf("Error() = %q; want the count and the first failure", msg)
	}
	if !errors.Is(err, down) {
		t.Errorf("errors.Is(%v, down) = false", err)
	}
	if !synclayer.IsPermanent(err) {
		t.Errorf("IsPermanent(%v) = false; one of its errors is permanent (as documented)", err)
	}
}

// TestBatchResult: a batch with no failure is nil, one with a failure is
// a *BatchError holding every event's entry.
func TestBatchResult(t *testing.T) {
	if err := bus.BatchResult(make([]error, 3)); err != nil {
		t.Errorf("BatchResult of three nils = %v, want nil", err)
	}
	errs := []error{nil, errors.New("broker down"), nil}
	var be *bus.BatchError
	if err := bus.BatchResult(errs); !errors.As(err, &be) || len(be.Errs) != 3 || be.Errs[1] != errs[1] {
		t.Errorf("BatchResult(%v) = %v, want a *BatchError of the three", errs, err)
	}
}
