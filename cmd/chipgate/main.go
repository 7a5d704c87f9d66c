// Command chipgate runs an export-control program for controlled AI
// accelerators: the server, the demo, and the operator and analyst commands.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "chipgate:", err)
		os.Exit(exitCode(err))
	}
}

// exitError carries a specific exit status (for example 1 from "ledger verify"
// when the log does not verify).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func exitCode(err error) int {
	if e, ok := err.(*exitError); ok {
		return e.code
	}
	return 1
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "chipgate",
		Short:         "Run an export program for controlled AI accelerators",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// Each subcommand lives in its own file as newXxxCmd().
	root.AddCommand(
		newVersionCmd(),
		newAllocateCmd(),
		newServeCmd(),
		newDemoCmd(),
		newMigrateCmd(),
		newPartyCmd(),
		newUserCmd(),
		newIdentityCmd(),
		newTokenCmd(),
		newListsCmd(),
		newScreenCmd(),
		newLedgerCmd(),
		newWitnessCmd(),
		newLandmarkCmd(), newAgentCmd(),
		newClassifyCmd(), newPolicyCmd(),
		newSimulateCmd(),
		newOpenAPICmd(),
		newWebhookCmd(),
	)
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), "chipgate", version)
			return err
		},
	}
}
