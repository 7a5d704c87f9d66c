package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/chipgate/chipgate/internal/ledger"
)

// newLedgerCmd groups the ledger commands: offline audit of an export here;
// verify and export against a database beside it.
func newLedgerCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ledger",
		Short: "Verify and export the tamper-evident ledger",
	}
	cmd.AddCommand(newLedgerAuditCmd(), newLedgerVerifyCmd(), newLedgerExportCmd())
	return cmd
}

// newLedgerAuditCmd verifies an export directory with no database: what a
// regulator or a journalist runs on what "ledger export" wrote.
func newLedgerAuditCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "audit DIR",
		Short: "Verify an exported ledger offline: signatures, forks, every entry, every checkpoint",
		Long: `Verify a directory written by "chipgate ledger export" without any database.

It checks every checkpoint signature against the verifier key in the
directory, that no two checkpoints of one size disagree (a fork), that every
entry hashes to its leaf, and that the Merkle tree recomputed from the
entries has the signed root at every checkpoint size. It exits with status 1
naming the first bad entry index if anything fails.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rep, err := ledger.Audit(args[0])
			if err != nil {
				var ve *ledger.VerifyError
				var fe *ledger.ForkError
				switch {
				case errors.As(err, &ve):
					return &exitError{code: 1, err: fmt.Errorf("ledger audit FAILED at entry %d: %s", ve.Index, ve.Reason)}
				case errors.As(err, &fe):
					return &exitError{code: 1, err: fmt.Errorf("ledger audit FAILED: fork at size %d: two signed checkpoints have roots %s and %s", fe.Size, fe.Root1, fe.Root2)}
				}
				return &exitError{code: 1, err: fmt.Errorf("ledger audit FAILED: %w", err)}
			}
			out := cmd.OutOrStdout()
			_, err = fmt.Fprintf(out, "ledger audit OK: %s\nentries:     %d\nroot:        %s\ncheckpoints: %d verified\n", rep.Origin, rep.Size, rep.Root, rep.Checkpoints)
			if err == nil && rep.Latest != nil && rep.Latest.Size < rep.Size {
				_, err = fmt.Fprintf(out, "note: entries %d to %d are not yet covered by a signed checkpoint\n", rep.Latest.Size, rep.Size-1)
			}
			return err
		},
	}
}
