package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/rest"
)

// newPartner is step 6: an archive records API joins while the Dispatcher
// runs. It is registered on the running Dispatcher's Registry (which takes
// effect for the next event), and a resync from the platform's database
// brings it the records it missed; a second resync finds it up to date and
// pushes nothing.
func (a *account) newPartner(ctx context.Context) error {
	fmt.Fprintln(a.out, "\n6. A new partner joins: an archive records API")
	archive := NewRecords("archive")
	url, stop, err := Serve(archive)
	if err != nil {
		return err
	}
	defer stop()
	conn, err := rest.New(rest.Config{BaseURL: url, Name: "archive"})
	if err != nil {
		return err
	}
	defer conn.Close()
	retry := synclayer.WithRetry(synclayer.RetryPolicy{InitialInterval: 50 * time.Millisecond, MaxAttempts: 5})
	if err := a.Registry.Register("archive", conn, synclayer.Route("WorkflowDeployed", synclayer.MapJSON(ToRecord)), retry); err != nil {
		return err
	}
	fmt.Fprintln(a.out, `   registered as connector "archive" on the running Dispatcher: WorkflowDeployed goes to it from now on`)
	fmt.Fprint(a.out, archive.Describe())

	for _, what := range []string{"a resync from the platform's workflows table", "the same resync again"} {
		fmt.Fprintf(a.out, "   %s:\n", what)
		source, n, err := a.platform.Workflows(ctx)
		if err != nil {
			return err
		}
		p, err := a.Dispatcher.Resync(ctx, source, synclayer.ResyncOptions{Connectors: []string{"archive"}, Total: n, Name: "archive"})
		if err != nil {
			return err
		}
		a.Results.forget() // the resync's results, counted in its progress
		fmt.Fprintf(a.out, "   resync %s: events=%d/%d pushed=%d skipped=%d failed=%d\n", p.Name, p.Events, p.Total, p.Pushed, p.Skipped, p.Failed)
		fmt.Fprint(a.out, archive.Describe())
	}
	return nil
}
