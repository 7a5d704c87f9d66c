package main

import (
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/chipgate/chipgate/internal/domain"
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
		rep, err := svc.ReloadLists(cmd.Context(), domain.SystemActor, screening.NewIndex(ds.Entities))
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(cmd.OutOrStdout(), "re-screened %d applications: %d changed, %d new hits to review, %d now blocked\n",
			rep.Screened, rep.Changed, rep.NewHits, rep.NowBlocked)
		return err
	}
	cmd.AddCommand(load)
	return cmd
}
