package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/hmsplatform/synclayer/config"
)

// marked splits a test file at its "@" marker: the file without it, and
// the line and column where the marker was.
func marked(t *testing.T, src string) (string, int, int) {
	t.Helper()
	i := strings.Index(src, "@")
	if i < 0 {
		t.Fatal("test file has no @ marker")
	}
	before := src[:i]
	line := strings.Count(before, "\n") + 1
	col := i - strings.LastIndex(before, "\n")
	return before + src[i+1:], line, col
}

const restPartner = `
partners:
  - name: records
    kind: rest
    settings:
      baseUrl: http://127.0.0.1:1
    routes:
      WorkflowDeployed:
        key: data.workflowId
        record: data
`

// restWith is a rest partner with one more line at the partner's level,
// which holds a case's "@" marker.
func restWith(line string) string {
	return `
partners:
  - name: records
    kind: rest
    settings: {baseUrl: "http://x"}
    ` + line + `
    routes: {A: {key: data.id, record: data}}
`
}

// calRecord is a calendar partner whose route maps the summary; a case
// adds the rest of the record's fields.
const calRecord = `
partners:
  - name: cal
    kind: googlecalendar
    settings: {calendarId: ops}
    routes:
      A:
        key: data.id
        record:
          summary: data.name
`

// calPartner begins a document with one CalDAV partner, "cal", whose
// route A the case goes on to write.
const calPartner = `
partners:
  - name: cal
    kind: caldav
    settings: {collectionUrl: "https://dav.example/c/"}
    routes:
      A:
`

// restKeyed begins a document with one REST partner, "records", whose
// route A has its key; the case goes on to write its record.
const restKeyed = `
partners:
  - name: records
    kind: rest
    settings: {baseUrl: "http://x"}
    routes:
      A:
        key: data.id
`

// gisPartner begins a document with one ArcGIS partner, "gis", whose
// routes the case goes on to write.
const gisPartner = `
partners:
  - name: gis
    kind: arcgis
    settings: {layerUrl: "https://gis.example/0", keyField: K}
    routes:
`

func TestBadConfigs(t *testing.T) {
	cases := []struct {
		name, src, path, msg string
	}{
		{"unknown kind", `
partners:
  - name: records
    kind: @telex
    routes:
      A: {key: data.id, record: data}
`, "partners[0].kind", `unknown connector kind "telex"`},
		{"missing required setting", `
partners:
  - name: records
    kind: rest
    settings:
      @path: /r/{key}
    routes:
      A: {key: data.id, record: data}
`, "partners[0].settings.baseUrl", "required setting is missing"},
		{"no settings at all", `
partners:
  - name: gis
    kind: @arcgis
    routes:
      A: {key: data.id, record: {attributes: data}}
`, "partners[0].settings.layerUrl", "required setting is missing"},
		{"bad URL", `
partners:
  - name: records
    kind: rest
    settings:
      baseUrl: @ftp://example.com
    routes:
      A: {key: data.id, record: data}
`, "partners[0].settings.baseUrl", "want an absolute http or https URL"},
		{"URL with credentials", `
partners:
  - name: gis
    kind: arcgis
    settings: {layerUrl: @"https://u:p@gis.example/0", keyField: K}
    routes:
      A: {key: data.id, record: {attributes: data}}
`, "partners[0].settings.layerUrl", "must not carry credentials"},
		{"reference inside a URL", `
partners:
  - name: records
    kind: rest
    settings:
      baseUrl: @"http://${env:RECORDS_HOST}:8080"
    routes:
      A: {key: data.id, record: data}
`, "partners[0].settings.baseUrl", "a reference cannot be part of a text"},
		{"malformed address reference", `
partners:
  - name: cal
    kind: googlecalendar
    settings: {calendarId: ops, endpoint: @"${env:CAL-URL}"}
    routes:
      A: {key: data.id, record: {summary: data.s, start: event.time}}
`, "partners[0].settings.endpoint", "is not an environment variable name"},
		{"expression does not compile", `
partners:
  - name: records
    kind: rest
    settings: {baseUrl: "http://x"}
    routes:
      A:
        key: data.id +@
        record: data
`, "partners[0].routes.A.key", "expression does not compile"},
		{"record field the connector does not take", calRecord + `          start: date(data.day)
          @colour: '"red"'
`, "partners[0].routes.A.record.colour", `takes no record field "colour"`},
		{"type mismatch", calRecord + `          start: @'"2024-07-01"'
`, "partners[0].routes.A.record.start", "expression gives string, but record field \"start\" takes timestamp"},
		{"key of the wrong type", `
partners:
  - name: records
    kind: rest
    settings: {baseUrl: "http://x"}
    routes:
      A:
        key: @1 + 2
        record: data
`, "partners[0].routes.A.key", "expression gives int, but key takes string"},
		{"required record field missing", calPartner + `        key: data.id
        record:
          @summary: data.name
`, "partners[0].routes.A.record.start", `needs record field "start"`},
		{"map with int keys for a map field", gisPartner + `      A: {key: data.id, record: {attributes: @'{1: "a"}'}}
`, "partners[0].routes.A.record.attributes", `expression gives map(int, string), but record field "attributes" takes map(string, dyn)`},
		{"map with int keys inside an open record", restKeyed + `        record: {tags: @'[{"a": {2: data.x}}]'}
`, "partners[0].routes.A.record.tags", "expression gives list(map(string, map(int, dyn))), which cannot be sent: a map key of type int (want string)"},
		{"whole record with int keys", restKeyed + `        record: @'{data.id: {true: 1}}'
`, "partners[0].routes.A.record", "a map key of type bool (want string)"},
		{"duration in a record", restKeyed + `        record: {ttl: @'duration("1h")'}
`, "partners[0].routes.A.record.ttl", "which cannot be sent: a value of type google.protobuf.Duration"},
		{"empty record of a closed kind", calPartner + `        key: data.id
        record: @{}
`, "partners[0].routes.A.record.summary", `needs record field "summary"`},
		{"empty record text of a closed kind", gisPartner + `      A: {key: data.id, record: @''}
`, "partners[0].routes.A.record.attributes", `needs record field "attributes"`},
		{"empty record literal of a closed kind", gisPartner + `      A: {key: data.id, record: @'{}'}
`, "partners[0].routes.A.record.attributes", `kind arcgis needs record field "attributes" (map(string, dyn))`},
		{"record literal without a required field", calPartner + `        key: data.id
        record: @'{"summary": event.subject}'
`, "partners[0].routes.A.record.start", `kind caldav needs record field "start" (timestamp)`},
		{"record literal as a block", calPartner + `        record: |
          {
            "summary": event.subject,
            @"colour": "red",
            "start": event.time
          }
        key: data.id
`, "partners[0].routes.A.record.colour", `kind caldav takes no record field "colour" (it takes summary, description, location, start, end, allDay)`},
		{"record literal with a field of the wrong type", calPartner + `        key: data.id
        record: '{"summary": event.subject, @"start": "2024-07-01"}'
`, "partners[0].routes.A.record.start", `expression gives string, but record field "start" takes timestamp`},
		{"record literal with a field twice", calPartner + `        key: data.id
        record: '{"summary": data.a, "start": event.time, @"summary": data.b}'
`, "partners[0].routes.A.record.summary", `field "summary" given twice`},
		{"whole record of a closed kind that is not a map", calPartner + `        key: data.id
        record: @'event.subject + "!"'
`, "partners[0].routes.A.record", "expression gives string, but record takes map(string, dyn)"},
		{"duplicate partner name", `
partners:
  - name: records
    kind: rest
    settings: {baseUrl: "http://x"}
    routes: {A: {key: data.id, record: data}}
  - name: @records
    kind: rest
    settings: {baseUrl: "http://y"}
    routes: {A: {key: data.id, record: data}}
`, "partners[1].name", "already named by partners[0]"},
		{"bad event type", `
partners:
  - name: records
    kind: rest
    settings: {baseUrl: "http://x"}
    routes:
      @"Workflow Deployed!": {key: data.id, record: data}
`, `partners[0].routes["Workflow Deployed!"]`, "is not a valid name"},
		{"negative duration", restWith("timeout: @-5s"), "partners[0].timeout", "duration -5s is negative"},
		{"negative retry interval", restWith("retry: {initialInterval: @-1ms}"), "partners[0].retry.initialInterval", "is negative"},
		{"not a duration", `
dispatcher:
  drainTimeout: @soon
` + restPartner, "dispatcher.drainTimeout", "want a duration"},
		{"unknown field", restWith("@colour: blue"), "partners[0].colour", `unknown field "colour"`},
		{"unknown setting of a kind", `
partners:
  - name: records
    kind: rest
    settings: {baseUrl: "http://x", @token: abc}
    routes: {A: {key: data.id, record: data}}
`, "partners[0].settings.token", `unknown field "token"`},
		{"secret written in the file", `
partners:
  - name: gis
    kind: arcgis
    settings: {layerUrl: "https://gis.example/0", keyField: K, token: @hunter2}
    routes:
      A: {key: data.id, record: {attributes: data}}
`, "partners[0].settings.token", "a secret must be a reference"},
		{"malformed secret reference", `
partners:
  - name: gis
    kind: arcgis
    settings: {layerUrl: "https://gis.example/0", keyField: K, token: @"${vault:x}"}
    routes:
      A: {key: data.id, record: {attributes: data}}
`, "partners[0].settings.token", "malformed reference"},
		{"reference where no secret goes", `
partners:
  - name: gis
    kind: arcgis
    settings: {layerUrl: "https://gis.example/0", keyField: @"${env:KEY}"}
    routes:
      A: {key: data.id, record: {attributes: data}}
`, "partners[0].settings.keyField", "a reference is not allowed here"},
		{"unknown bus kind", `
bus:
  kind: @carrier-pigeon
` + restPartner, "bus.kind", `unknown bus kind "carrier-pigeon"`},
		{"bus setting of another kind", `
bus:
  kind: memory
  stream: @SYNC
` + restPartner, "bus.stream", `does not apply to bus kind "memory"`},
		{"nats without a stream", `
bus:
  @kind: nats
  url: nats://127.0.0.1:4222
` + restPartner, "bus.stream", "required setting is missing"},
		{"bus URL of the wrong scheme", `
bus:
  kind: nats
  url: @http://127.0.0.1:4222
  stream: S
` + restPartner, "bus.url", "want a nats:// or tls:// URL"},
		{"kafka broker of many colons, not an IPv6 address", `
bus:
  kind: kafka
  brokers: ["127.0.0.1:9092", @"kafka-1:9092:1"]
` + restPartner, "bus.brokers[1]", `want host or host:port, got "kafka-1:9092:1"`},
		{"kafka broker with text after the IPv6 brackets", `
bus:
  kind: kafka
  brokers: [@"[::1]x9092"]
` + restPartner, "bus.brokers[0]", `want host or host:port, got "[::1]x9092"`},
		{"kafka broker with an empty port", `
bus:
  kind: kafka
  brokers: [@"kafka-1:"]
` + restPartner, "bus.brokers[0]", `port "" of "kafka-1:" is not a number`},
		{"kafka broker port 0", `
bus:
  kind: kafka
  brokers: [@"kafka-1:0"]
` + restPartner, "bus.brokers[0]", `port 0 of "kafka-1:0" is not in 1..65535`},
		{"kafka broker port too large", `
bus:
  kind: kafka
  brokers:
    - @kafka-1:65536
` + restPartner, "bus.brokers[0]", `port 65536 of "kafka-1:65536" is not in 1..65535`},
		{"kafka broker port not a number", `
bus:
  kind: kafka
  brokers: [@"kafka-1:http"]
` + restPartner, "bus.brokers[0]", `port "http" of "kafka-1:http" is not a number`},
		{"kafka broker without a host", `
bus:
  kind: kafka
  brokers: [@":9092"]
` + restPartner, "bus.brokers[0]", `want host or host:port, got ":9092" (no host)`},
		{"kafka broker as a URL", `
bus:
  kind: kafka
  brokers: [@"kafka://k:9092"]
` + restPartner, "bus.brokers[0]", `want host or host:port, got "kafka://k:9092"`},
		{"unknown store kind", `
store:
  kind: @mongo
` + restPartner, "store.kind", `unknown store kind "mongo"`},
		{"store without a DSN", `
store:
  @kind: postgres
` + restPartner, "store.dsn", "required setting is missing"},
		{"bad table name", `
store:
  kind: sqlite
  dsn: /tmp/x.db
  table: @"drop table; --"
` + restPartner, "store.table", "want a table name"},
		{"redis log without a URL", `
log:
  @kind: redis
` + restPartner, "log.url", "required setting is missing (it defaults to store.url only when the store is redis)"},
		{"redis log URL of the wrong scheme", `
store: {kind: redis, url: "redis://127.0.0.1:6379"}
log:
  kind: redis
  url: @http://127.0.0.1:6379
` + restPartner, "log.url", "want a redis:// or rediss:// URL"},
		{"redis log with a table", `
store: {kind: redis, url: "redis://127.0.0.1:6379"}
log:
  kind: redis
  table: @deliveries
` + restPartner, "log.table", `setting "table" does not apply to log kind "redis"`},
		{"redis log prefix with a brace", `
store: {kind: redis, url: "redis://127.0.0.1:6379"}
log:
  kind: redis
  prefix: @"app:{x}:"
` + restPartner, "log.prefix", "must not contain a brace"},
		{"redis log with a negative retention", `
store: {kind: redis, url: "redis://127.0.0.1:6379"}
log:
  kind: redis
  retention: @-1h
` + restPartner, "log.retention", "is negative"},
		{"unknown log field", `
log:
  kind: redis
  url: redis://127.0.0.1:6379
  @ttl: 1h
` + restPartner, "log.ttl", `unknown field "ttl" (want one of kind, dsn, url, table, prefix, migrate, maxEntries, retention, deadRetention)`},
		{"unknown store field", `
store:
  kind: sqlite
  dsn: /tmp/x.db
  @ttl: 1h
` + restPartner, "store.ttl", `unknown field "ttl" (want one of kind, dsn, url, table, prefix, migrate, maxEntries)`},
		{"number out of range", restWith("concurrency: @99999999999999999999999"), "partners[0].concurrency", "want an integer"},
		{"concurrency below one", restWith("concurrency: @0"), "partners[0].concurrency", "must be at least 1"},
		{"failure rate above one", restWith("breaker: {failureRate: @1.5}"), "partners[0].breaker.failureRate", "between 0 and 1"},
		{"rate limit without burst", restWith("rateLimit: {@perSecond: 5}"), "partners[0].rateLimit.burst", "required setting is missing"},
		{"no routes", `
partners:
  - @name: records
    kind: rest
    settings: {baseUrl: "http://x"}
`, "partners[0].routes", "required setting is missing"},
		{"no partners", `
@bus: {kind: memory}
`, "partners", "required setting is missing"},
		{"a list where a mapping goes", `
partners:
  - name: records
    kind: rest
    settings: @[a, b]
    routes: {A: {key: data.id, record: data}}
`, "partners[0].settings", "want a mapping, got a list"},
		{"bad rest method", `
partners:
  - name: records
    kind: rest
    settings: {baseUrl: "http://x", method: @GET}
    routes: {A: {key: data.id, record: data}}
`, "partners[0].settings.method", "want PUT, POST or PATCH"},
		{"bad soap version", `
partners:
  - name: records
    kind: soap
    settings: {url: "http://x", element: Upsert, version: @"1.3"}
    routes: {A: {key: data.id, record: data}}
`, "partners[0].settings.version", `want "1.1" or "1.2", got "1.3"`},
		{"bad calendar sendUpdates", `
partners:
  - name: cal
    kind: googlecalendar
    settings: {calendarId: ops, sendUpdates: @everyone}
    routes: {A: {key: data.id, record: {summary: data.s, start: event.time}}}
`, "partners[0].settings.sendUpdates", `want "all", "externalOnly" or "none", got "everyone"`},
		{"duplicate key", `
partners:
  - name: records
    kind: rest
    settings: {baseUrl: "http://x"}
    routes: {A: {key: data.id, record: data}}
    @kind: soap
`, "", `already defined`},
		{"unknown function", `
partners:
  - name: records
    kind: rest
    settings: {baseUrl: "http://x"}
    routes:
      A:
        key: frobnicate@(data.id)
        record: data
`, "partners[0].routes.A.key", "undeclared reference to 'frobnicate'"},
		{"error inside a block expression", restRouteA + `
        key: |
          "k-" +
            frobnicate@(data.id)
        record: data
`, "partners[0].routes.A.key", "undeclared reference to 'frobnicate'"},
		{"error inside a block expression that ends the file", restRouteA + `
        record: data
        key: |
          "k-" +
            frobnicate@(data.id) +
            "-x"
`, "partners[0].routes.A.key", "undeclared reference to 'frobnicate'"},
		{"error inside a block expression after a blank line", restRouteA + `
        key: |

          "k-" + frobnicate@(data.id)
        record: data
`, "partners[0].routes.A.key", "undeclared reference to 'frobnicate'"},
		{"record literal as a block that ends the file", calPartner + `        key: data.id
        record: |
          {
            "summary": event.subject,
            @"colour": "red",
            "start": event.time
          }
`, "partners[0].routes.A.record.colour", `kind caldav takes no record field "colour"`},
		{"unknown event field", `
partners:
  - name: records
    kind: rest
    settings: {baseUrl: "http://x"}
    routes:
      A:
        key: event@.subjekt
        record: data
`, "partners[0].routes.A.key", "subjekt"},
		{"monitor without an address", `
monitor: {@title: ops}
` + restPartner, "monitor", "the monitor needs http.addr"},
		{"trusted origin with a path", `
http: {addr: "127.0.0.1:8080"}
monitor:
  trustedOrigins: ["https://ops.example:8443", @"https://ops.example/admin"]
` + restPartner, "monitor.trustedOrigins[1]", `want scheme://host[:port]: invalid origin "https://ops.example/admin": path, query, and fragment are not allowed`},
		{"trusted origin without a scheme", `
http: {addr: "127.0.0.1:8080"}
monitor:
  trustedOrigins:
    - @ops.example
` + restPartner, "monitor.trustedOrigins[0]", `invalid origin "ops.example": scheme is required`},
		{"empty trusted origin", `
http: {addr: "127.0.0.1:8080"}
monitor:
  trustedOrigins: [@""]
` + restPartner, "monitor.trustedOrigins[0]", `want scheme://host[:port], got nothing`},
		{"YAML syntax error", `
partners:
  - name: @"records
`, "", "YAML"},
	}
	// Both calendar kinds refuse a negative maxConflicts.
	for kind, settings := range map[string]string{"caldav": `collectionUrl: "http://x/cal/"`, "googlecalendar": "calendarId: ops"} {
		cases = append(cases, struct{ name, src, path, msg string }{"negative maxConflicts of " + kind, `
partners:
  - name: cal
    kind: ` + kind + `
    settings: {` + settings + `, maxConflicts: @-1}
    routes: {A: {key: data.id, record: {summary: data.s, start: event.time}}}
`, "partners[0].settings.maxConflicts", "must not be negative"})
	}
	if len(cases) < 25 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src, line, col := marked(t, tc.src)
			_, err := config.Parse("bad.yaml", []byte(src))
			if err == nil {
				t.Fatalf("no error for:\n%s", src)
			}
			if !errors.Is(err, config.ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid: %v", err)
			}
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("error is not a *config.Error: %v", err)
			}
			if ce.File != "bad.yaml" || ce.Line != line || ce.Column != col || ce.Path != tc.path {
				t.Errorf("got %s:%d:%d path %q, want bad.yaml:%d:%d path %q\n(error: %v)", ce.File, ce.Line, ce.Column, ce.Path, line, col, tc.path, err)
			}
			if !strings.Contains(ce.Msg, tc.msg) {
				t.Errorf("message %q does not say %q", ce.Msg, tc.msg)
			}
			want := "bad.yaml:" + itoa(line) + ":" + itoa(col)
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error text %q does not name %s", err.Error(), want)
			}
		})
	}
}

func itoa(n int) string {
	var b []byte
	for n >= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(append([]byte{byte('0' + n)}, b...))
}
