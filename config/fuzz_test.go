package config_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/config"
)

// billionLaughs is a file whose aliases would expand to 10^9 values.
func billionLaughs() string {
	var b strings.Builder
	b.WriteString("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i <= 9; i++ {
		b.WriteString("a" + itoa(i) + ": &a" + itoa(i) + " [")
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + itoa(i-1))
		}
		b.WriteString("]\n")
	}
	return b.String()
}

func hostileFiles() map[string]string {
	return map[string]string{
		"billion laughs":    billionLaughs() + restPartner,
		"deep flow nesting": "partners: " + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000),
		"deep block nesting": func() string {
			var b strings.Builder
			for i := range 200 {
				b.WriteString(strings.Repeat(" ", i) + "k:\n")
			}
			return b.String()
		}(),
		"huge number":     strings.Replace(restPartner, "records\n    kind", "records\n    concurrency: 1e999999\n    kind", 1),
		"huge file":       "# " + strings.Repeat("x", config.MaxFileBytes) + "\n" + restPartner,
		"self alias":      "a: &a [*a]\n" + restPartner,
		"unknown alias":   "a: *nowhere\n" + restPartner,
		"tag":             "partners: !!binary aGVsbG8=\n",
		"merge key":       "base: &b {kind: rest}\npartners:\n  - <<: *b\n    name: r\n",
		"two documents":   restPartner + "---\n" + restPartner,
		"long expression": strings.Replace(restPartner, "key: data.workflowId", "key: "+strings.Repeat("data.a + ", 5000)+"data.b", 1),
		"deep expression": strings.Replace(restPartner, "key: data.workflowId", "key: "+strings.Repeat("(", 500)+"data.a"+strings.Repeat(")", 500), 1),
		"binary":          "\x00\xff\xfe" + restPartner,
	}
}

// Hostile files are refused quickly with an error naming the problem.
func TestHostileFiles(t *testing.T) {
	for name, src := range hostileFiles() {
		t.Run(name, func(t *testing.T) {
			_, err := config.Parse("hostile.yaml", []byte(src))
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, config.ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid: %v", err)
			}
			if len(err.Error()) > 20_000 {
				t.Errorf("error is %d bytes long", len(err.Error()))
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, src := range hostileFiles() {
		if len(src) < 64<<10 {
			f.Add([]byte(src))
		}
	}
	f.Add([]byte(restPartner))
	f.Add([]byte(`{"partners":[{"name":"r","kind":"rest","settings":{"baseUrl":"http://x"},"routes":{"A":{"key":"data.id","record":"data"}}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		defer within(t, "Parse", time.Now())
		cfg, err := config.Parse("fuzz.yaml", data)
		if err == nil && cfg == nil {
			t.Fatal("no config and no error")
		}
		if err != nil && !errors.Is(err, config.ErrInvalid) {
			t.Fatalf("error does not wrap ErrInvalid: %v", err)
		}
	})
}

// restRouteA begins a file with one rest partner, r, and its route of
// events of type A, whose settings follow (indented by 8).
const restRouteA = `
partners:
  - name: r
    kind: rest
    settings: {baseUrl: "http://x"}
    routes:
      A:`

func FuzzMapping(f *testing.F) {
	cfg, err := config.Parse("fuzz.yaml", []byte(restRouteA+`
        key: string(data.id)
        version: int(data.v)
        record:
          name: data.name + "!"
          all: data
          size: size(data.list)
          words: data.list.map(x, string(x) + string(x))
  - name: c
    kind: caldav
    settings: {collectionUrl: "https://dav.example/c/"}
    routes:
      A:
        key: data.id
        record:
          summary: data.name
          start: date(data.day)
          end: timestamp(data.end)
          allDay: data.allDay
`))
	if err != nil {
		f.Fatal(err)
	}
	maps := []synclayer.Mapper{cfg.Partners[0].Routes[0].Mapping(), cfg.Partners[1].Routes[0].Mapping()}
	f.Add([]byte(`{"id":"k","v":1,"name":"n","list":[1,2,3],"day":"2024-07-01","end":"2024-07-02T00:00:00Z","allDay":true}`))
	f.Add([]byte(`{"id":1e999,"v":99999999999999999999999,"name":null,"list":{}}`))
	f.Add([]byte(`{"id":"k","v":-1,"name":"` + strings.Repeat("x", 100_000) + `","list":[` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `]}`))
	f.Add([]byte("\xff\xfe"))
	f.Add([]byte(`{"id":"k","list":["` + strings.Repeat("ab", 50_000) + `"]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ev := synclayer.Event{ID: "e", Type: "A", Time: time.Unix(0, 0), Data: data}
		for _, m := range maps {
			start := time.Now()
			rec, err := m.Map(context.Background(), ev)
			if err != nil {
				if !errors.Is(err, synclayer.ErrMapping) || !synclayer.IsPermanent(err) {
					t.Fatalf("error is not a permanent mapping error: %v", err)
				}
			} else if rec.Key == "" {
				t.Fatal("empty key without an error")
			}
			within(t, "Map", start)
		}
	})
}

// An expression that would build a huge value stops at the cost limit
// with a permanent mapping error naming the field and the expression.
func TestCostLimitStopsAnExpression(t *testing.T) {
	cfg, err := config.Parse("cost.yaml", []byte(restRouteA+`
        key: data.id
        record:
          blowup: data.list.map(a, data.list.map(b, data.list.map(c, a + b + c)))
`))
	if err != nil {
		t.Fatal(err)
	}
	list := "[" + strings.Repeat("1,", 299) + "1]"
	_, err = cfg.Partners[0].Routes[0].Mapping().Map(context.Background(), synclayer.Event{ID: "e", Type: "A", Data: []byte(`{"id":"k","list":` + list + `}`)})
	if err == nil || !errors.Is(err, synclayer.ErrMapping) || !synclayer.IsPermanent(err) {
		t.Fatalf("got %v, want a permanent mapping error", err)
	}
	for _, s := range []string{`partner "r"`, `route "A"`, `record field "blowup"`, "data.list.map", "cost limit"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not name %s", err, s)
		}
	}
}

// A mapping that meets data of the wrong type fails with a permanent
// mapping error naming the field.
func TestMappingErrorNamesTheField(t *testing.T) {
	m := calendarMapping(t)
	_, err := m.Map(context.Background(), synclayer.Event{ID: "e", Type: "WorkflowDeployed", Time: time.Unix(1, 0),
		Data: []byte(`{"workflowId":"WF-1","name":7,"startDate":"2024-07-01"}`)})
	if err == nil || !errors.Is(err, synclayer.ErrMapping) || !synclayer.IsPermanent(err) {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(err.Error(), `record field "summary"`) || !strings.Contains(err.Error(), `+ data.name`) {
		t.Errorf("error does not name the field and expression: %v", err)
	}
	_, err = m.Map(context.Background(), synclayer.Event{ID: "e", Type: "WorkflowDeployed",
		Data: []byte(`{"workflowId":"WF-1","name":"n","startDate":"July"}`)})
	if err == nil || !strings.Contains(err.Error(), `record field "start"`) || !strings.Contains(err.Error(), "yyyy-mm-dd") {
		t.Errorf("bad date: %v", err)
	}
}

// within fails t if what, started at start, has taken over five seconds.
func within(t *testing.T, what string, start time.Time) {
	t.Helper()
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("%s took %v", what, d)
	}
}
