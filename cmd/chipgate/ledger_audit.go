package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

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
	cmd := &cobra.Command{
		Use:   "audit DIR",
		Short: "Verify an exported ledger offline: signatures, cosignatures, split views, every entry, every checkpoint",
		Long: `Verify a directory written by "chipgate ledger export" without any database.

It checks every checkpoint signature against the log's verifier key (the
directory's key.txt, or --log-key), that no two checkpoints disagree (a split
view: two of one size with different roots, or one that is not a prefix of a
larger one, reported with both signed notes as evidence), that every entry
hashes to its leaf, and that the Merkle tree recomputed from the entries has
the signed root at every checkpoint size. Checkpoints obtained elsewhere (a
witness's state file, one kept from an earlier audit) are checked the same
way with --checkpoint.

The policy's ledger.witnesses (or --witnesses) says how many of the witnesses
given with --witness-key must have cosigned the latest checkpoint.

It exits with status 1 naming the first bad entry index if anything fails.`,
		Args: cobra.ExactArgs(1),
	}
	cpFiles := cmd.Flags().StringArray("checkpoint", nil, "a signed checkpoint of the log obtained elsewhere (a witness's state file) to check against the export (repeatable)")
	witnessKeys := cmd.Flags().StringArray("witness-key", nil, "the cosignature verifier key of a witness you trust, or a file holding it (repeatable)")
	policyFile := cmd.Flags().String("policy", "", "policy file whose ledger.witnesses is the number of cosignatures required (default: the embedded policies/default.yaml)")
	quorum := cmd.Flags().Int("witnesses", -1, "cosignatures required of the latest checkpoint, overriding the policy's ledger.witnesses")
	logKey := cmd.Flags().String("log-key", "", "the log's verifier key, or a file holding it: pins the key rather than trusting the export's key.txt")
	allowUnsigned := cmd.Flags().Bool("allow-unsigned", false, "accept an export that no signed checkpoint (or one covering far less than it) vouches for, still saying so")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		opts := ledger.AuditOptions{Quorum: *quorum}
		if *quorum < 0 {
			pol, err := loadPolicy(*policyFile)
			if err != nil {
				return err
			}
			opts.Quorum = pol.Ledger().Witnesses
		}
		for _, k := range *witnessKeys {
			_, v, err := readVerifierKey("--witness-key", k, ledger.NewCosignatureVerifier)
			if err != nil {
				return err
			}
			opts.Witnesses = append(opts.Witnesses, v)
		}
		if *logKey != "" {
			k, _, err := readVerifierKey("--log-key", *logKey, ledger.ParseVerifierKey)
			if err != nil {
				return err
			}
			opts.LogKey = k
		}
		notes, err := readNotes("--checkpoint", *cpFiles)
		if err != nil {
			return err
		}
		opts.Checkpoints = notes
		rep, err := ledger.AuditWith(args[0], opts)
		out := cmd.OutOrStdout()
		if err != nil {
			var ve *ledger.VerifyError
			var sv *ledger.SplitViewError
			var we *ledger.WitnessError
			switch {
			case errors.As(err, &ve):
				return &exitError{code: 1, err: fmt.Errorf("ledger audit FAILED at entry %d: %s", ve.Index, ve.Reason)}
			case errors.As(err, &sv):
				fmt.Fprintf(out, "ledger audit FAILED: SPLIT VIEW: the log signed two histories. Evidence, both notes as signed:\n\n%s", sv.Evidence())
				return &exitError{code: 1, err: fmt.Errorf("ledger audit FAILED: split view: %s", sv.Reason)}
			case errors.As(err, &we):
				return &exitError{code: 1, err: fmt.Errorf("ledger audit FAILED: not witnessed: %s", strings.TrimPrefix(we.Error(), "ledger: "))}
			}
			return &exitError{code: 1, err: fmt.Errorf("ledger audit FAILED: %w", err)}
		}
		head, fail := coverage("ledger audit", rep.VerifySummary, *allowUnsigned)
		fmt.Fprintf(out, "%s\nlog:         %s\nentries:     %d\nroot:        %s\n", head, rep.Origin, rep.Size, rep.Root)
		writeCoverage(out, rep.VerifySummary)
		if rep.Latest != nil {
			var names []string
			for _, c := range rep.Cosignatures {
				names = append(names, c.Witness+" at "+c.Time.Format(time.RFC3339))
			}
			fmt.Fprintf(out, "cosigned:    the latest checkpoint (size %d) by %d of the %d witnesses given (%d required)", rep.Latest.Size, len(rep.Cosignatures), len(opts.Witnesses), opts.Quorum)
			if len(names) > 0 {
				fmt.Fprintf(out, ": %s", strings.Join(names, ", "))
			}
			fmt.Fprintln(out)
		}
		if fail != nil {
			return fail
		}
		return nil
	}
	return cmd
}
