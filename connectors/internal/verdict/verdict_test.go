package verdict_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/internal/verdict"
	"github.com/hmsplatform/synclayer/drift"
)

func TestOf(t *testing.T) {
	upsert := synclayer.Record{Key: "k", Version: 2}
	del := synclayer.Record{Key: "k", Version: 2, Delete: true}
	held := verdict.Held{Exists: true, ETag: `"e1"`, State: "held"}
	newer := held
	newer.Newer = true
	differs := func() ([]string, error) { return []string{"a", "b"}, nil }
	same := func() ([]string, error) { return nil, nil }
	for _, tc := range []struct {
		name   string
		rec    synclayer.Record
		h      verdict.Held
		diff   func() ([]string, error)
		kind   drift.Kind
		fields []string
	}{
		{"nothing held", upsert, verdict.Held{}, differs, drift.Missing, nil},
		{"nothing held, delete", del, verdict.Held{}, differs, drift.InSync, nil},
		{"newer held", upsert, newer, differs, drift.InSync, nil},
		{"newer held, delete", del, newer, differs, drift.InSync, nil},
		{"held, delete", del, held, differs, drift.Unexpected, nil},
		{"held, differs", upsert, held, differs, drift.Differs, []string{"a", "b"}},
		{"held, same", upsert, held, same, drift.InSync, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := verdict.Of(tc.rec, tc.h, tc.diff)
			if err != nil {
				t.Fatal(err)
			}
			if v.Kind != tc.kind || !slices.Equal(v.Fields, tc.fields) || v.ETag != tc.h.ETag || v.State != tc.h.State {
				t.Errorf("got %+v, want kind %v, fields %q and the held ETag and State", v, tc.kind, tc.fields)
			}
		})
	}
	boom := errors.New("boom")
	if _, err := verdict.Of(upsert, held, func() ([]string, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Errorf("diff's error: got %v", err)
	}
}

func TestSettled(t *testing.T) {
	upsert := synclayer.Record{Key: "k", Version: 2}
	del := synclayer.Record{Key: "k", Version: 2, Delete: true}
	for _, tc := range []struct {
		rec  synclayer.Record
		kind drift.Kind
		want bool
	}{
		{upsert, drift.InSync, true},
		{del, drift.InSync, true},
		{del, drift.Missing, true},
		{upsert, drift.Missing, false},
		{upsert, drift.Differs, false},
		{del, drift.Unexpected, false},
	} {
		if got := verdict.Settled(tc.rec, drift.Verdict{Kind: tc.kind}); got != tc.want {
			t.Errorf("Settled(delete %v, %v) = %v, want %v", tc.rec.Delete, tc.kind, got, tc.want)
		}
	}
}
