package config_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hmsplatform/synclayer/config"
)

func lookup(vars map[string]string) config.BuildOption {
	return config.WithLookupEnv(func(name string) (string, bool) { v, ok := vars[name]; return v, ok })
}

func quiet() config.BuildOption { return config.WithLogger(slog.New(slog.DiscardHandler)) }

// An address setting given as ${env:NAME} or ${file:PATH} is resolved at
// Build, and the connector sends to the resolved URL. The address is not
// kept as a secret; the header beside it still is.
func TestAddressFromReference(t *testing.T) {
	ctx := t.Context()
	partner := &recorder{}
	srv := httptest.NewServer(partner)
	defer srv.Close()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "records.url"), []byte(srv.URL+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"${env:RECORDS_URL}", "${file:records.url}"} {
		t.Run(ref, func(t *testing.T) {
			before := len(partner.all())
			cfg, err := config.Parse(filepath.Join(dir, "sync.yaml"), fmt.Appendf(nil, recordsConfig, ref))
			if err != nil {
				t.Fatal(err)
			}
			svc, err := config.Build(ctx, cfg, quiet(), lookup(map[string]string{"RECORDS_URL": srv.URL, "RECORDS_KEY": plantedKey}))
			if err != nil {
				t.Fatal(err)
			}
			defer svc.Close(ctx)
			rep, err := svc.Dispatcher.Dispatch(ctx, workflowEvents()[0])
			if err != nil {
				t.Fatalf("dispatch: %v (%+v)", err, rep)
			}
			reqs := partner.all()
			if len(reqs) != before+1 || !strings.HasPrefix(reqs[before], "PUT /records/WF-123\n") {
				t.Fatalf("the partner at the resolved URL got %q", reqs[before:])
			}
			secrets := svc.Secrets()
			if !slices.Contains(secrets, plantedKey) {
				t.Error("the header secret is not kept among the secrets")
			}
			if slices.Contains(secrets, srv.URL) {
				t.Error("the address is kept as a secret")
			}
		})
	}
}

// An unset variable behind any address setting, of every kind that has
// one and of the Kafka bus, is an error at Build naming the file, the
// place of the reference, the setting's path and the partner. The
// configuration loads without it: `synclayer check` needs no environment.
func TestAddressUnresolved(t *testing.T) {
	cases := []struct {
		kind, settings, record, path string
	}{
		{"rest", `{baseUrl: @"${env:ADDR}"}`, `data`, "partners[0].settings.baseUrl"},
		{"webhook", `{url: @"${env:ADDR}", secrets: ["${env:WH_KEY}"]}`, `data`, "partners[0].settings.url"},
		{"soap", `{url: @"${env:ADDR}", element: Upsert}`, `data`, "partners[0].settings.url"},
		{"caldav", `{collectionUrl: @"${env:ADDR}"}`, `{summary: data.s, start: event.time}`, "partners[0].settings.collectionUrl"},
		{"googlecalendar", `{calendarId: ops, endpoint: @"${env:ADDR}"}`, `{summary: data.s, start: event.time}`, "partners[0].settings.endpoint"},
		{"arcgis", `{layerUrl: @"${env:ADDR}", keyField: K, token: "${env:GIS_TOKEN}"}`, `{attributes: data}`, "partners[0].settings.layerUrl"},
	}
	for _, tc := range cases {
		t.Run(tc.kind, func(t *testing.T) {
			src, line, col := marked(t, fmt.Sprintf("partners:\n  - name: p-%s\n    kind: %s\n    settings: %s\n    routes: {A: {key: data.id, record: %s}}\n",
				tc.kind, tc.kind, tc.settings, tc.record))
			cfg, err := config.Parse("sync.yaml", []byte(src))
			if err != nil {
				t.Fatalf("a reference in %s does not load: %v", tc.path, err)
			}
			_, err = config.Build(t.Context(), cfg, quiet(), lookup(map[string]string{"WH_KEY": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "GIS_TOKEN": "t"}))
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("Build: %v, want a *config.Error", err)
			}
			want := fmt.Sprintf(`config: sync.yaml:%d:%d: %s: partner "p-%s": reference ${env:ADDR} is not resolved: the environment variable is not set`,
				line, col, tc.path, tc.kind)
			if ce.Error() != want {
				t.Errorf("got  %s\nwant %s", ce.Error(), want)
			}
			if !errors.Is(err, config.ErrInvalid) {
				t.Errorf("%v does not wrap ErrInvalid", err)
			}
		})
	}
	t.Run("kafka broker", func(t *testing.T) {
		src, line, col := marked(t, "bus: {kind: kafka, brokers: [\"127.0.0.1:9092\", @\"${env:BROKER}\"]}\n"+restPartner)
		cfg, err := config.Parse("sync.yaml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		_, err = config.Build(t.Context(), cfg, quiet(), lookup(nil))
		want := fmt.Sprintf(`config: sync.yaml:%d:%d: bus.brokers[1]: reference ${env:BROKER} is not resolved: the environment variable is not set`, line, col)
		if err == nil || err.Error() != want {
			t.Errorf("got  %v\nwant %s", err, want)
		}
	})
}

// A reference that resolves to something other than an http(s) URL
// without credentials is refused at Build, and the error does not show
// the value.
func TestAddressResolvedToABadURL(t *testing.T) {
	cfg, err := config.Parse("sync.yaml", fmt.Appendf(nil, recordsConfig, "${env:RECORDS_URL}"))
	if err != nil {
		t.Fatal(err)
	}
	for value, msg := range map[string]string{
		"http://ops:PLANTED-pw@records.example/": "the URL must not carry credentials",
		"ftp://records.example/PLANTED-pw":       `want an absolute http or https URL, got scheme "ftp"`,
		"http://records.example/%zzPLANTED-pw":   "not a URL",
		"/records/PLANTED-pw":                    "want an absolute http or https URL",
	} {
		_, err := config.Build(t.Context(), cfg, quiet(), lookup(map[string]string{"RECORDS_URL": value, "RECORDS_KEY": "k"}))
		var ce *config.Error
		if !errors.As(err, &ce) {
			t.Fatalf("%s: Build: %v, want a *config.Error", value, err)
		}
		wantMsg := `partner "records": reference ${env:RECORDS_URL} does not give a usable URL: ` + msg
		if ce.Path != "partners[0].settings.baseUrl" || ce.Line != 7 || !strings.HasPrefix(ce.Msg, wantMsg) {
			t.Errorf("%s: got %v, want %s at line 7", value, err, wantMsg)
		}
		if strings.Contains(err.Error(), "PLANTED") {
			t.Errorf("the error shows the value: %v", err)
		}
	}
}

// A Kafka broker whose reference resolves to something other than a host
// or host:port with a port in 1..65535 is refused at Build, at the place of
// the reference, and the error does not show the value.
func TestBrokerResolvedToABadAddress(t *testing.T) {
	src, line, col := marked(t, "bus: {kind: kafka, brokers: [\"127.0.0.1:9092\", @\"${env:BROKER}\"]}\n"+restPartner)
	cfg, err := config.Parse("sync.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	for value, msg := range map[string]string{
		"PLANTED:host:9092":  "want host or host:port",
		"PLANTED-host:0":     "the port is not in 1..65535",
		"PLANTED-host:70000": "the port is not in 1..65535",
		"PLANTED-host:kafka": "the port is not a number",
		":9092":              "want host or host:port (no host)",
	} {
		_, err := config.Build(t.Context(), cfg, quiet(), lookup(map[string]string{"BROKER": value}))
		want := fmt.Sprintf(`config: sync.yaml:%d:%d: bus.brokers[1]: reference ${env:BROKER} does not give a usable broker address: %s`, line, col, msg)
		if err == nil || err.Error() != want {
			t.Errorf("%s: got  %v\nwant %s", value, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "PLANTED") {
			t.Errorf("the error shows the value: %v", err)
		}
	}
}

// The Kafka client (franz-go's kgo.SeedBrokers) dials port 9092 when a
// broker has none, and reads an IPv6 address with or without brackets, so
// a broker written that way loads, as one with a port does.
func TestKafkaBrokerAsTheClientReadsIt(t *testing.T) {
	for _, broker := range []string{
		"kafka-1",
		"127.0.0.1",
		`"kafka_1.internal:9092"`,
		`"[::1]"`,
		`"::1"`,
		`"[::1]:9092"`,
		`"fe80::1%eth0"`,
		`"[fe80::1%eth0]:9092"`,
		`"kafka-1:65535"`,
	} {
		src := "bus: {kind: kafka, brokers: [" + broker + "]}\n" + restPartner
		if _, err := config.Parse("sync.yaml", []byte(src)); err != nil {
			t.Errorf("%s: %v", broker, err)
		}
	}
}

// Secrets and addresses resolve on Build only: a configuration whose
// references are all unset still loads and previews.
func TestReferencesUnresolvedByPreview(t *testing.T) {
	ctx := context.Background()
	cfg, err := config.Parse("sync.yaml", fmt.Appendf(nil, recordsConfig, "${env:RECORDS_URL}"))
	if err != nil {
		t.Fatal(err)
	}
	pv := cfg.Preview(ctx, workflowEvents()[0])
	if len(pv) != 1 || pv[0].Error != "" || pv[0].Key != "WF-123" {
		t.Errorf("preview: %+v", pv)
	}
}
