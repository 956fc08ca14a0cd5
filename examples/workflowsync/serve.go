package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/examples/internal/demo"
	"github.com/hmsplatform/synclayer/monitor"
)

// serveLive keeps the example running with the monitor's dashboard on addr:
// it deploys a new version of a workflow every few seconds (through the
// outbox, whose backlog the dashboard shows), and now and
// then the records API fails long enough for the push to fail for good, so
// a newcomer sees failures appear live and can replay them from the page.
// It stops when ctx ends (Ctrl-C).
func serveLive(ctx context.Context, addr string, out io.Writer) error {
	w, err := wire(ctx)
	if err != nil {
		return err
	}
	defer w.close()
	platform, err := demo.OpenPlatform(ctx)
	if err != nil {
		return err
	}
	defer platform.Close()
	go func() { _ = platform.Outbox.Relay(ctx, w.bus) }()
	d, err := w.dispatcher(synclayer.WithObserver(synclayer.NoObserver))
	if err != nil {
		return err
	}
	mon, err := monitor.New(d, monitor.WithWrites(true), monitor.WithTitle("workflowsync"), monitor.WithBacklog("outbox", platform.Outbox))
	if err != nil {
		return err
	}
	srv := &http.Server{Addr: addr, Handler: mon}
	srv.RegisterOnShutdown(func() { mon.Close() })
	errc := make(chan error, 2)
	go func() { errc <- srv.ListenAndServe() }()
	go func() { errc <- d.Run(ctx, w.bus) }()
	fmt.Fprintf(out, "dashboard on http://%s/ (Ctrl-C to stop)\n", addr)

	tick := time.NewTicker(3 * time.Second)
	defer tick.Stop()
	start := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)
	for i := 1; ; i++ {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
			_ = w.bus.Close(sctx)
			return nil
		case err := <-errc:
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
		case <-tick.C:
			if i%5 == 0 {
				w.partners.Records.FailNext(5) // more than the retry policy's attempts
			}
			ev := demo.Deployed(fmt.Sprintf("live-%d", i), time.Now(), demo.WorkflowDeployed{
				WorkflowID: fmt.Sprintf("WF-%d", 100+i%7),
				Name:       "AutoApproveLowRisk",
				StartDate:  start.AddDate(0, 0, i).Format(time.DateOnly),
			})
			if err := platform.Deploy(ctx, ev); err != nil && ctx.Err() == nil {
				return err
			}
		}
	}
}
