package main

import (
	"context"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/memory"
	"github.com/hmsplatform/synclayer/connectors/arcgis"
	"github.com/hmsplatform/synclayer/connectors/googlecalendar"
	"github.com/hmsplatform/synclayer/connectors/rest"
	"github.com/hmsplatform/synclayer/examples/internal/demo"
)

// wiring is what the account (run) and the live dashboard (serveLive) both
// start from: the fake partners, a registry with a connector for each, and
// the in-memory bus.
type wiring struct {
	partners *demo.Partners
	reg      *synclayer.Registry
	bus      *memory.Bus
	close    func() // releases the connectors, then stops the partners
}

// wire starts the partners, registers their connectors and opens the bus.
// The caller closes the bus, then calls close.
func wire(ctx context.Context) (*wiring, error) {
	p, err := demo.StartPartners()
	if err != nil {
		return nil, err
	}
	reg := new(synclayer.Registry)
	closeConns, err := register(ctx, reg, p)
	if err != nil {
		p.Close()
		return nil, err
	}
	bus, err := memory.New()
	if err != nil {
		closeConns()
		p.Close()
		return nil, err
	}
	return &wiring{partners: p, reg: reg, bus: bus, close: func() { closeConns(); p.Close() }}, nil
}

// dispatcher returns a Dispatcher over the registry that announces
// SyncCompleted / SyncFailed back on the bus, with opts added.
func (w *wiring) dispatcher(opts ...synclayer.Option) (*synclayer.Dispatcher, error) {
	return synclayer.NewDispatcher(w.reg, append([]synclayer.Option{
		synclayer.WithPublisher(w.bus),
		synclayer.WithSource("examples/workflowsync"),
	}, opts...)...)
}

// register wires one connector per partner into reg, each with its own
// mapping of WorkflowDeployed. close releases the connectors.
func register(ctx context.Context, reg *synclayer.Registry, p *demo.Partners) (close func(), err error) {
	svc, err := p.Calendar.Service(ctx, p.CalendarURL, nil) // in production: the caller's credentials
	if err != nil {
		return nil, err
	}
	cal, err := googlecalendar.New(googlecalendar.Config{Service: svc, CalendarID: "ops"})
	if err != nil {
		return nil, err
	}
	gis, err := arcgis.New(arcgis.Config{
		LayerURL:     p.GISLayerURL,
		KeyField:     "WORKFLOW_ID",
		VersionField: "SYNC_VERSION",
		Token:        demo.GISToken,
	})
	if err != nil {
		return nil, err
	}
	records, err := rest.New(rest.Config{BaseURL: p.RecordsURL, Name: "records"})
	if err != nil {
		return nil, err
	}
	retry := synclayer.WithRetry(synclayer.RetryPolicy{InitialInterval: 50 * time.Millisecond, MaxAttempts: 5})
	for _, c := range []struct {
		name string
		conn synclayer.Connector
		m    synclayer.Mapper
	}{
		{"calendar", cal, synclayer.MapJSON(toCalendarEvent)},
		{"gis", gis, synclayer.MapJSON(toFeature)},
		{"records", records, synclayer.MapJSON(demo.ToRecord)},
	} {
		if err := reg.Register(c.name, c.conn, synclayer.Route("WorkflowDeployed", c.m), retry); err != nil {
			records.Close()
			return nil, err
		}
	}
	return func() { records.Close() }, nil
}
