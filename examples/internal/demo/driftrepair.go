package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/drift"
)

// driftRepair is step 5: someone renames WF-123 by hand at the GIS
// partner, which still answers every query as if all were well; a drift
// reconciler compares the layer with the platform's database, announces
// the drift, and repairs it through the Dispatcher's claim path.
func (a *account) driftRepair(ctx context.Context) error {
	fmt.Fprintln(a.out, "\n5. Someone edits WF-123 by hand at the GIS partner")
	if n := a.Partners.GIS.Edit("WF-123", map[string]any{"NAME": "ManualReviewEverything"}); n != 1 {
		return fmt.Errorf("edit WF-123 at the GIS layer: %d features changed, want 1", n)
	}
	fmt.Fprint(a.out, a.Partners.DescribeGIS())

	fmt.Fprintln(a.out, "   a drift reconciler checks the GIS layer against the platform's workflows table:")
	r, err := drift.New(a.Dispatcher, drift.Config{Connectors: []string{"gis"}, Rate: 100, Repair: true, Publisher: a.Bus})
	if err != nil {
		return err
	}
	source, _, err := a.platform.Workflows(ctx)
	if err != nil {
		return err
	}
	sum, err := r.Check(ctx, source)
	if err != nil {
		return err
	}
	a.Results.forget() // the repair's result, reported below
	if err := a.console.printDrift(ctx, a.out, sum.Differs+sum.Missing+sum.Unexpected+sum.Repaired); err != nil {
		return err
	}
	fmt.Fprintf(a.out, "   checked=%d inSync=%d differs=%d missing=%d repaired=%d conflicts=%d failed=%d\n",
		sum.Checked, sum.InSync, sum.Differs, sum.Missing, sum.Repaired, sum.Conflicts, sum.Failed)
	fmt.Fprintln(a.out, "   the layer after the repair:")
	fmt.Fprint(a.out, a.Partners.DescribeGIS())

	source, _, err = a.platform.Workflows(ctx)
	if err != nil {
		return err
	}
	sum, err = r.Check(ctx, source)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.out, "   a second check finds it in sync: checked=%d inSync=%d differs=%d\n", sum.Checked, sum.InSync, sum.Differs)

	h, ok, err := a.Dispatcher.Holding(ctx, "gis", "WF-123")
	if err != nil {
		return fmt.Errorf("ledger of gis WF-123: %w", err)
	}
	if !ok {
		return fmt.Errorf("ledger of gis WF-123: no entry")
	}
	fmt.Fprintf(a.out, "   Holding(gis, WF-123): version %d (%s, event %s), %s\n",
		h.Version, time.Unix(0, h.Version).UTC().Format(time.RFC3339), h.EventID, verified(h))
	return nil
}

// verified says whether the ledger's entry was verified since its last
// push, and with what result.
func verified(h synclayer.Holding) string {
	switch {
	case h.VerifiedAt.IsZero():
		return "never verified"
	case h.VerifiedAt.Before(h.PushedAt):
		return "pushed since its last check"
	}
	return "verified, drift " + h.Drift.String()
}
