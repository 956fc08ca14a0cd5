package conntest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/hmsplatform/synclayer"
)

// Answer is one answer of a partner, an HTTP status with a body, and the
// failure a connector must make of it: an error in category Kind,
// permanent or not. A nil Kind means no error at all.
type Answer struct {
	Status    int
	Body      string
	Kind      error
	Permanent bool
}

// Check fails t unless err is the failure a calls for, as [CheckClass]
// does, naming the answer in its messages. It reports whether err is in
// category a.Kind.
func (a Answer) Check(t testing.TB, err error) bool {
	t.Helper()
	return checkClass(t, fmt.Sprintf("answer %d %q: ", a.Status, a.Body), err, a.Kind, a.Permanent)
}

// CheckClass fails t unless err is the failure a connector must return:
// with kind nil, no error at all; else an error in category kind
// (errors.Is), permanent exactly when permanent is true. It reports
// whether err is in category kind, so that the caller may check more of
// it; with kind nil it reports false.
func CheckClass(t testing.TB, err, kind error, permanent bool) bool {
	t.Helper()
	return checkClass(t, "", err, kind, permanent)
}

func checkClass(t testing.TB, what string, err, kind error, permanent bool) bool {
	t.Helper()
	switch {
	case kind == nil:
		if err != nil {
			t.Errorf("%sgot %v, want success", what, err)
		}
		return false
	case !errors.Is(err, kind):
		t.Errorf("%sgot %v, want %v (permanent %v)", what, err, kind, permanent)
		return false
	}
	if synclayer.IsPermanent(err) != permanent {
		t.Errorf("%sgot %v: permanent %v, want %v", what, err, !permanent, permanent)
	}
	return true
}
