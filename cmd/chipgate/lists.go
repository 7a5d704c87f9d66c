package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/listfetch"
	"github.com/chipgate/chipgate/internal/screening"
	"github.com/chipgate/chipgate/internal/service"
)

func newListsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "lists", Short: "Load restricted-party lists and re-screen every application"}
	load := &cobra.Command{
		Use:   "load DIR",
		Short: "Load every list file under DIR, report what was skipped, and re-screen the stored applications",
		Args:  cobra.ExactArgs(1),
	}
	db := dbFlag(load, "")
	policyFile := load.Flags().String("policy", "", "policy file (default: the embedded policies/default.yaml)")
	force := load.Flags().Bool("force", false, "accept a list version the integrity checks refuse (needs --reason)")
	reason := load.Flags().String("reason", "", "why a refused list version is accepted (recorded in the ledger)")
	load.RunE = func(cmd *cobra.Command, args []string) error {
		log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
		pol, err := loadPolicy(*policyFile)
		if err != nil {
			return err
		}
		ds, err := screening.LoadDir(args[0])
		if err != nil {
			return err
		}
		fmt.Fprint(cmd.OutOrStdout(), ds.Report.String())
		st, err := openStore(cmd.Context(), *db)
		if err != nil {
			return err
		}
		defer st.Close()
		svc := service.New(st, service.Options{Log: log, Policy: pol})
		rep, err := svc.ReloadListsWith(cmd.Context(), domain.SystemActor, screening.NewIndex(ds.Entities),
			service.ListReload{Skipped: ds.Report.SkippedCount(), Force: *force, Reason: *reason})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(cmd.OutOrStdout(), "re-screened %d applications: %d changed, %d new hits to review, %d now blocked\n",
			rep.Screened, rep.Changed, rep.NewHits, rep.NowBlocked)
		return err
	}
	cmd.AddCommand(load, newListsFetchCmd())
	return cmd
}

func newListsFetchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "fetch",
		Short: "Download the official OFAC SDN and Consolidated Screening List files into DIR/current, keeping the last good copy",
		Long: `Download every source into a new directory, check that each file parses, and
only then make it DIR/current (the old copy becomes DIR/previous). A failed
download or a file that does not parse leaves DIR/current as it was. Point
"serve --lists" at DIR/current and reload with POST /api/v1/lists/reload.`,
		Args: cobra.NoArgs,
	}
	dir := cmd.Flags().String("dir", "", "directory that keeps the lists (current/ and previous/)")
	overrides := cmd.Flags().StringToString("source", nil, "NAME=URL to replace or add a source, e.g. csl/consolidated.csv=https://…")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if *dir == "" {
			return fmt.Errorf("--dir: required")
		}
		sources := slices.Clone(listfetch.DefaultSources)
		for name, url := range *overrides {
			i := slices.IndexFunc(sources, func(s listfetch.Source) bool { return s.Name == name })
			if i < 0 {
				sources = append(sources, listfetch.Source{Name: name, URL: url})
			} else {
				sources[i].URL = url
			}
		}
		rep, err := listfetch.Fetch(cmd.Context(), &http.Client{Timeout: 15 * time.Minute}, *dir, sources)
		if err != nil {
			return err
		}
		out := cmd.OutOrStdout()
		fmt.Fprintf(out, "lists in %s: %d entities from %d files (%d records skipped)\n", rep.Dir, rep.Entities, len(rep.Files), rep.Skipped)
		fmt.Fprintf(out, "added %d, removed %d entities since the last copy\n", len(rep.Added), len(rep.Removed))
		for _, k := range rep.Added[:min(10, len(rep.Added))] {
			fmt.Fprintln(out, "  +", k)
		}
		for _, k := range rep.Removed[:min(10, len(rep.Removed))] {
			fmt.Fprintln(out, "  -", k)
		}
		return nil
	}
	return cmd
}
