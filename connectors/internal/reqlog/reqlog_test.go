package reqlog_test

import (
	"slices"
	"testing"

	"github.com/hmsplatform/synclayer/connectors/internal/reqlog"
)

func TestLog(t *testing.T) {
	var l reqlog.Log
	if got := l.Lines(); len(got) != 0 {
		t.Fatalf("zero Log holds %q", got)
	}
	l.Add("GET 200")
	l.Add("PUT 201")
	got := l.Lines()
	if !slices.Equal(got, []string{"GET 200", "PUT 201"}) {
		t.Fatalf("Lines = %q", got)
	}
	got[0] = "changed"
	if l.Lines()[0] != "GET 200" {
		t.Error("Lines shares its slice with the log")
	}
	l.Reset()
	l.Add("DELETE 204")
	if got := l.Lines(); !slices.Equal(got, []string{"DELETE 204"}) {
		t.Errorf("after Reset and Add: %q", got)
	}
}
