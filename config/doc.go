// Package config describes partners as configuration: a YAML (or JSON)
// file names the bus, the idempotency store, the delivery log, the monitor
// and each partner, with its connector kind, its settings, its delivery
// limits and one route per event type whose mapping is written in CEL.
// The `synclayer` binary (cmd/synclayer) runs such a file; a Go program
// can load one too, with its own connector kinds beside the built-in ones.
//
// # Loading
//
// [Load] reads a file, decodes it strictly (an unknown field is an
// error), checks every setting, and compiles and type-checks every
// mapping against the record fields of its partner's connector kind (a
// record value must have a JSON form: a map's keys are strings). It
// returns [Errors], every problem with its file, line, column and field
// path:
//
//	config: sync.yaml:31:18: partners[2].routes.WorkflowDeployed.record.start: expression gives string, but record field "start" takes timestamp
//
// For a kind with fixed record fields, a record given field by field must
// give the required ones, and so must a whole record written as one map
// literal, '{"summary": event.subject, "start": event.time}': its keys
// written as strings are checked as fields are (each one the kind takes,
// given once, of a type it takes), and a whole-record expression that can
// only give something other than a map is refused. A key that is an
// expression ({data.k: ...}) and a whole record that is not a map literal
// (data.record, a conditional) are known only when they run: they are
// checked for each event, a failure then being a mapping error.
//
// Hostile files stay cheap: a file is at most [MaxFileBytes], nesting is
// bounded, and aliases expand within a fixed budget of values.
//
// # Mappings
//
// A route gives a key, an optional version and delete flag, and a record:
// one expression giving the whole record, or a map from field name to
// expression. Expressions see `event` (id, type, source, subject, time,
// meta) and `data`, the event's JSON data decoded (a number with a point
// or an exponent is a double; an integer is an int, or a uint beyond
// int64 up to 18446744073709551615, exact; an integer beyond both is never
// an inexact double: an expression that reads it, or a record of the whole
// data, fails with a mapping error naming its place, such as
// data.items[1].n, and a field no expression reads is no error). Besides
// CEL's standard functions and the string extensions there are
// date("2024-07-01"), a timestamp at midnight UTC, and unixNanos(t). A
// compiled route is a [Mapping], a [synclayer.Mapper]: a failure at run
// time is a permanent [synclayer.ErrMapping] naming the partner, route,
// field and expression, and every evaluation is bounded by a cost limit
// ([DefaultCostLimit]).
//
// # Kinds
//
// A connector [Kind] declares its settings, its record fields with their
// types, and how it builds a connector and a payload. [Kinds] lists the
// built-in ones, one per package in connectors/; [WithKind] adds a
// program's own.
//
// # Secrets and addresses
//
// A credential is never written in the file: a secret setting takes only
// a reference, ${env:NAME} or ${file:PATH}, which [Build] resolves. No
// error, log line, preview or monitor page shows a resolved secret.
//
// An address setting (a partner's URL, a Kafka broker) takes the address
// or a reference of the same forms, resolved by [Build] too. It is
// checked by [Load] when written in the file and by [Build] when
// referenced (in an error that does not show the value): a URL must be
// http or https, with a host and no credentials; a Kafka broker is a host
// (the Kafka client then dials port 9092) or host:port with a port in
// 1..65535, an IPv6 host written [::1]:9092, [::1] or ::1. An address is
// not a secret: it is not kept among [Service.Secrets]. An unresolved
// reference of either kind is an error naming the file, its place, the
// setting and the partner.
//
// # Building
//
// [Build] resolves the secrets and constructs, in this order, every
// connector, the store, the log, the bus, the dispatcher and (when
// configured) the monitor, and returns a [Service] holding them; [Service.Close] releases them in
// reverse order.
// [Config.Preview] maps an event for every partner without building
// anything, which is what `synclayer check` prints.
//
// The full format, every kind with its settings and record fields, is the
// "Configuration" section of the module's README. A loaded [Config] is safe for concurrent
// use once loaded.
package config
