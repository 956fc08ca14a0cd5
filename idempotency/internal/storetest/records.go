package storetest

import (
	"context"
	"testing"

	"github.com/hmsplatform/synclayer"
)

// Accept is a partner that takes every record at once.
var Accept = synclayer.ConnectorFunc(func(context.Context, synclayer.Record) error { return nil })

// Records returns a Registry of one connector, "records", served by
// partner: each WorkflowDeployed event goes to it as a record keyed by the
// event's subject, with the event's data as payload. opts are the
// connector's further options.
func Records(tb testing.TB, partner synclayer.Connector, opts ...synclayer.ConnectorOption) *synclayer.Registry {
	tb.Helper()
	mapper := synclayer.MapperFunc(func(_ context.Context, ev synclayer.Event) (synclayer.Record, error) {
		return synclayer.Record{Key: ev.Subject, Payload: ev.Data}, nil
	})
	reg := new(synclayer.Registry)
	if err := reg.Register("records", partner, append([]synclayer.ConnectorOption{synclayer.Route("WorkflowDeployed", mapper)}, opts...)...); err != nil {
		tb.Fatal(err)
	}
	return reg
}
