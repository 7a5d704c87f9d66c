package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/chipgate/chipgate/internal/allocation"
)

func newAllocateCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "allocate [--json] < problem.json",
		Short: "Allocate scarce lots to accepted orders over a horizon",
		Long: `Allocate scarce lots to accepted orders over a horizon of periods.

The problem is read from standard input as JSON: periods, start, period_days,
tiers, lots, orders and caps (region_ratio, buyer, licenses, permits, reserve,
min_lot_age_days). docs/ALLOCATION.md describes the format and the algorithm;
testdata/allocation/ has examples.

Tiers are served in order, each as many units as possible given the earlier
ones; inside a tier units are shared by weighted max-min fairness. Every unit
not allocated is listed with its reason. With --json the output is
{"allocations": [...], "unmet": [...], "metrics": {...}}; without it, a
readable summary. A bad problem is an error naming the field.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := allocation.Decode(cmd.InOrStdin())
			if err != nil {
				return err
			}
			res, err := allocation.Run(*p)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			}
			return writeAllocation(out, p, res)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "write the result as JSON")
	return cmd
}

// writeAllocation writes a result for people: the tiers, the allocations,
// the unmet units with reasons and the fairness figures.
func writeAllocation(w io.Writer, p *allocation.Problem, res allocation.Result) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	mt := res.Metrics
	fmt.Fprintf(tw, "supply %d units (%d usable in the horizon), demand %d, allocated %d\n\n",
		mt.Supply, mt.Usable, mt.Demand, mt.Allocated)
	fmt.Fprintln(tw, "TIER\tREGIONS\tDEMAND\tALLOCATED\tJAIN\tRESERVE CLASSES")
	for k, t := range mt.Tiers {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%.3f\t%d\n", k+1, strings.Join(t.Regions, "+"), t.Demand, t.Allocated, t.Jain, t.Reserved)
	}
	fmt.Fprintln(tw, "\nPERIOD\tDATE\tORDER\tLOT\tQUANTITY")
	for _, a := range res.Allocations {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\n", a.Period, a.Date, a.Order, a.Lot, a.Quantity)
	}
	if len(res.Unmet) > 0 {
		fmt.Fprintln(tw, "\nUNMET ORDER\tQUANTITY\tREASON")
		for _, u := range res.Unmet {
			fmt.Fprintf(tw, "%s\t%d\t%s\n", u.Order, u.Quantity, u.Reason)
		}
	}
	fmt.Fprintln(tw)
	for _, r := range mt.RegionRatio {
		fmt.Fprintf(tw, "ratio %s ≤ %s × %s: %d units of at most %d (base %d)\n",
			strings.Join(r.Region, "+"), r.Max, strings.Join(r.Of, "+"), r.Units, r.Limit, r.Base)
	}
	if len(mt.HHIRegions) > 0 {
		fmt.Fprintf(tw, "HHI among %s buyers: %.0f\n", strings.Join(mt.HHIRegions, "+"), mt.HHI)
	}
	fmt.Fprintf(tw, "share to reserve classes: %.1f%%\n", 100*mt.ReserveShare)
	return tw.Flush()
}
