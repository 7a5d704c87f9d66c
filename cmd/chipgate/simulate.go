package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/chipgate/chipgate/internal/sim"
)

func newSimulateCmd() *cobra.Command {
	var scenario, out string
	var compare bool
	var seed uint64
	cmd := &cobra.Command{
		Use:   "simulate --scenario FILE --out DIR [--compare] [--seed N]",
		Short: "Run the program over a year for policy variants and compare them",
		Long: `Run the export program over a horizon of weeks for a scenario and its
policy variants, with the real engines: every order decided by the policy,
each week's shipments allocated, duty assessed to the cent, the US lab
testing what goes to China.

The scenario (YAML, docs/SIMULATE.md) describes production, buyers and demand,
the lab and the variants; a variant changes parameters of the policy (duty,
China cap, minimum lot age, reserve). The same scenario and seed give the same
files, byte for byte.

DIR receives report.html (self-contained, charts inline), summary.json and
CSVs with one column per variant. --compare also prints the key figures of
every variant side by side. A bad scenario is one error naming the field.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if scenario == "" || out == "" {
				return fmt.Errorf("simulate: --scenario and --out are required")
			}
			s, err := sim.Load(scenario)
			if err != nil {
				return err
			}
			var opt sim.Options
			if cmd.Flags().Changed("seed") {
				opt.Seed = &seed
			}
			res, err := sim.Run(s, opt)
			if err != nil {
				return err
			}
			if err := sim.WriteFiles(out, res); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if compare {
				if err := sim.WriteCompare(w, res); err != nil {
					return err
				}
				fmt.Fprintln(w)
			}
			_, err = fmt.Fprintf(w, "wrote %d files to %s (report.html, summary.json, CSVs)\n", len(sim.Files), out)
			return err
		},
	}
	cmd.Flags().StringVar(&scenario, "scenario", "", "scenario file (YAML)")
	cmd.Flags().StringVar(&out, "out", "", "directory for the report, summary and CSVs")
	cmd.Flags().BoolVar(&compare, "compare", false, "print the key figures of every variant side by side")
	cmd.Flags().Uint64Var(&seed, "seed", 0, "seed for the random draws (default: the scenario's)")
	return cmd
}
