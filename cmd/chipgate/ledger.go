package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/chipgate/chipgate/internal/ledger"
	"github.com/chipgate/chipgate/internal/service"
	"github.com/chipgate/chipgate/internal/store"
)

// ledgerFlags configure the checkpoint signer of a server.
type ledgerFlags struct {
	keyFile  string
	origin   string
	interval time.Duration
}

func addLedgerFlags(cmd *cobra.Command) *ledgerFlags {
	f := &ledgerFlags{}
	cmd.Flags().StringVar(&f.keyFile, "ledger-key", os.Getenv("CHIPGATE_LEDGER_KEY_FILE"),
		"file holding the ledger's signing key, created (mode 0600) on first start (env CHIPGATE_LEDGER_KEY_FILE; default: beside a SQLite database, else ./chipgate-ledger.key)")
	cmd.Flags().StringVar(&f.origin, "ledger-origin", "chipgate.local/ledger", "the log's name in its checkpoints (for a new key)")
	cmd.Flags().DurationVar(&f.interval, "checkpoint-every", 2*time.Second, "how often the leader signs a checkpoint of new entries")
	return f
}

// signer returns the ledger signer: the key in CHIPGATE_LEDGER_KEY (a
// signing key in note format), or in the key file, created on first start.
// The file holds the signing key on its first line and the verifier key on
// its second.
func (f *ledgerFlags) signer(dsn string) (*service.LedgerSigner, error) {
	if env := os.Getenv("CHIPGATE_LEDGER_KEY"); env != "" {
		skey, vkey, ok := strings.Cut(strings.TrimSpace(env), "\n")
		if !ok {
			return nil, errors.New("CHIPGATE_LEDGER_KEY: want the signing key and the verifier key on two lines")
		}
		return service.NewLedgerSigner(skey, strings.TrimSpace(vkey))
	}
	path := f.keyFile
	if path == "" {
		path = "chipgate-ledger.key"
		if !store.IsPostgres(dsn) {
			path = filepath.Join(filepath.Dir(dsn), "chipgate-ledger.key")
		}
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		skey, vkey, err := ledger.GenerateKey(f.origin)
		if err != nil {
			return nil, fmt.Errorf("--ledger-origin: %w", err)
		}
		fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("--ledger-key: %w", err)
		}
		_, werr := fmt.Fprintf(fh, "%s\n%s\n", skey, vkey)
		if err := errors.Join(werr, fh.Sync(), fh.Close()); err != nil {
			return nil, fmt.Errorf("--ledger-key: %w", err)
		}
		return service.NewLedgerSigner(skey, vkey)
	}
	if err != nil {
		return nil, fmt.Errorf("--ledger-key: %w", err)
	}
	skey, vkey, ok := strings.Cut(strings.TrimSpace(string(data)), "\n")
	if !ok {
		return nil, fmt.Errorf("--ledger-key: %s: want the signing key and the verifier key on two lines", path)
	}
	s, err := service.NewLedgerSigner(skey, strings.TrimSpace(vkey))
	if err != nil {
		return nil, fmt.Errorf("--ledger-key: %s: %w", path, err)
	}
	return s, nil
}

func newLedgerVerifyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Recompute every leaf and node of the ledger from the stored records and check every checkpoint",
		Long: `Recompute every leaf hash and every node of the ledger's Merkle tree from the
records stored in the database, compare them with the stored tree, and check
the root at every signed checkpoint. Exits with status 1 naming the first bad
entry index.`,
		Args: cobra.NoArgs,
	}
	db := dbFlag(cmd, "")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		svc, done, err := openService(cmd, *db)
		if err != nil {
			return err
		}
		defer done()
		start := time.Now()
		sum, err := svc.VerifyLog(cmd.Context())
		if err != nil {
			var ve *ledger.VerifyError
			var fe *ledger.ForkError
			switch {
			case errors.As(err, &ve):
				return &exitError{code: 1, err: fmt.Errorf("ledger verify FAILED at entry %d: %s", ve.Index, ve.Reason)}
			case errors.As(err, &fe):
				return &exitError{code: 1, err: fmt.Errorf("ledger verify FAILED: fork at size %d: %v", fe.Size, fe)}
			}
			return err
		}
		took := time.Since(start)
		_, err = fmt.Fprintf(cmd.OutOrStdout(), "ledger verify OK\nentries:     %d\nroot:        %s\ncheckpoints: %d verified\ntook:        %s (%.0f entries/s)\n",
			sum.Size, sum.Root, sum.Checkpoints, took.Round(time.Millisecond), float64(sum.Size)/took.Seconds())
		return err
	}
	return cmd
}

func newLedgerExportCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write the ledger's entries, checkpoints and verifier key to a directory for offline audit",
		Args:  cobra.NoArgs,
	}
	db := dbFlag(cmd, "")
	out := cmd.Flags().String("out", "", "directory to write (created; must not hold an export)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if *out == "" {
			return errors.New("--out: required")
		}
		svc, done, err := openService(cmd, *db)
		if err != nil {
			return err
		}
		defer done()
		n, err := svc.ExportLog(cmd.Context(), *out)
		if err != nil {
			return fmt.Errorf("--out: %w", err)
		}
		_, err = fmt.Fprintf(cmd.OutOrStdout(), "exported %d entries to %s; check it with: chipgate ledger audit %s\n", n, *out, *out)
		return err
	}
	return cmd
}
