package demo

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/hmsplatform/synclayer"
)

// Bus is what the account needs of the bus: it publishes (the outbox's
// relay, a redelivery, the drift announcements) and subscribes (the
// Dispatcher, the operator console).
type Bus interface {
	synclayer.Publisher
	synclayer.Subscriber
}

// Setup is what [Account] runs on: a Dispatcher over Registry, built
// however the command likes, with Results as its Observer and Bus as its
// Publisher, routing WorkflowDeployed to the three Partners (as
// "calendar", "gis" and "records").
type Setup struct {
	Dispatcher *synclayer.Dispatcher
	Registry   *synclayer.Registry
	Bus        Bus
	Results    *ResultLog
	Partners   *Partners
}

// Account runs the Dispatcher on the bus, opens the platform's database,
// and prints what happens, step by step: the platform deploys WF-123 and
// writes WorkflowDeployed through its outbox, the partners are pushed and
// the result is announced; the bus delivers the event again (all
// duplicates, nothing written); a newer version updates each partner's one
// record; a records API that answers 503 twice is retried; someone edits
// the record at the GIS partner by hand, and a drift reconciler detects
// and repairs it; a new partner joins and a resync from the platform's
// database brings it up to date, and a second resync pushes nothing.
//
// Everything it prints is the same from run to run. It stops what it
// started before it returns; the caller closes the bus and the partners.
func Account(ctx context.Context, out io.Writer, s Setup) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait() // after cancel, before the database closes
	defer cancel()

	platform, err := OpenPlatform(ctx)
	if err != nil {
		return err
	}
	defer platform.Close()

	// The Dispatcher consumes the bus and announces on it; an operator
	// console listens for the announcements; the outbox's relay publishes
	// committed events on the bus.
	wg.Go(func() {
		if err := s.Dispatcher.Run(ctx, s.Bus); err != nil {
			fmt.Fprintln(out, "run:", err)
		}
	})
	console, subscribe := listen(ctx, s.Bus)
	wg.Go(func() { _ = subscribe() })
	wg.Go(func() {
		if err := platform.Outbox.Relay(ctx, s.Bus); err != nil {
			fmt.Fprintln(out, "relay:", err)
		}
	})

	a := &account{Setup: s, out: out, platform: platform, console: console, routes: len(s.Registry.Connectors())}
	for _, step := range []func(context.Context) error{a.deploy, a.redeliver, a.update, a.retry, a.driftRepair, a.newPartner} {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return nil
}

// account is one run of the account.
type account struct {
	Setup
	out      io.Writer
	platform *Platform
	console  *announcements
	routes   int // routes of WorkflowDeployed: one per partner
}

// t0 is when the account's first event happened.
var t0 = time.Date(2024, 6, 20, 9, 0, 0, 0, time.UTC)

// wf123 is the workflow of the account, starting on startDate.
func wf123(startDate string) WorkflowDeployed {
	return WorkflowDeployed{WorkflowID: "WF-123", Name: "AutoApproveLowRisk", StartDate: startDate}
}

func (a *account) deploy(ctx context.Context) error {
	fmt.Fprintln(a.out, "1. WorkflowDeployed WF-123 (startDate 2024-07-01) published")
	if err := publishAndWait(ctx, a.platform.Deploy, a.Results, Deployed("evt-1", t0, wf123("2024-07-01")), a.routes); err != nil {
		return err
	}
	fmt.Fprint(a.out, a.Results.take("evt-1"))
	return a.console.printSync(ctx, a.out, true)
}

func (a *account) redeliver(ctx context.Context) error {
	fmt.Fprintln(a.out, "\n2. The bus delivers evt-1 again")
	if err := publishAndWait(ctx, a.Bus.Publish, a.Results, Deployed("evt-1", t0, wf123("2024-07-01")), a.routes); err != nil {
		return err
	}
	fmt.Fprint(a.out, a.Results.take("evt-1"))
	fmt.Fprintln(a.out, "   nothing was written again, and no second announcement was made")
	return nil
}

func (a *account) update(ctx context.Context) error {
	fmt.Fprintln(a.out, "\n3. A newer version moves the start date to 2024-08-01")
	if err := publishAndWait(ctx, a.platform.Deploy, a.Results, Deployed("evt-2", t0.Add(time.Hour), wf123("2024-08-01")), a.routes); err != nil {
		return err
	}
	fmt.Fprint(a.out, a.Results.take("evt-2"))
	if err := a.console.printSync(ctx, a.out, false); err != nil {
		return err
	}
	fmt.Fprintln(a.out, "   each partner still holds one record, now updated:")
	fmt.Fprint(a.out, a.Partners.Describe())
	return nil
}

func (a *account) retry(ctx context.Context) error {
	fmt.Fprintln(a.out, "\n4. The records API is busy: it answers 503 twice")
	a.Partners.Records.FailNext(2)
	if err := publishAndWait(ctx, a.platform.Deploy, a.Results, Deployed("evt-3", t0.Add(2*time.Hour), wf123("2024-09-01")), a.routes); err != nil {
		return err
	}
	fmt.Fprint(a.out, a.Results.take("evt-3"))
	if err := a.console.printSync(ctx, a.out, false); err != nil {
		return err
	}
	fmt.Fprint(a.out, a.Partners.Records.Describe())
	return nil
}
