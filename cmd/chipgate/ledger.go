package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/mod/sumdb/note"

	"github.com/chipgate/chipgate/internal/ledger"
	"github.com/chipgate/chipgate/internal/ledgerlog"
	"github.com/chipgate/chipgate/internal/service"
	"github.com/chipgate/chipgate/internal/store"
	"github.com/chipgate/chipgate/internal/witness"
)

// ledgerFlags configure the checkpoint signer of a server.
type ledgerFlags struct {
	keyFile        string
	origin         string
	interval       time.Duration
	state          string
	witnesses      []string
	witnessTimeout time.Duration
}

func addLedgerFlags(cmd *cobra.Command) *ledgerFlags {
	f := &ledgerFlags{}
	cmd.Flags().StringVar(&f.keyFile, "ledger-key", os.Getenv("CHIPGATE_LEDGER_KEY_FILE"),
		"file holding the ledger's signing key, created (mode 0600) on first start (env CHIPGATE_LEDGER_KEY_FILE; default: beside a SQLite database, else ./chipgate-ledger.key); keep it out of the database's reach")
	cmd.Flags().StringVar(&f.origin, "ledger-origin", "chipgate.local/ledger", "the log's name in its checkpoints (for a new key)")
	cmd.Flags().DurationVar(&f.interval, "checkpoint-every", 2*time.Second, "how often the leader signs a checkpoint of new entries")
	cmd.Flags().StringVar(&f.state, "ledger-state", os.Getenv("CHIPGATE_LEDGER_STATE"),
		"file where the signer keeps the last checkpoint it signed, outside the database; it never signs a tree that does not extend it (env CHIPGATE_LEDGER_STATE; default: the key file's name + .checkpoint)")
	cmd.Flags().StringArrayVar(&f.witnesses, "witness", nil,
		"a witness that cosigns every checkpoint, as URL=KEY: its add-checkpoint prefix and its cosignature verifier key (repeatable; the policy's ledger.witnesses says how many must cosign)")
	cmd.Flags().DurationVar(&f.witnessTimeout, "witness-timeout", 5*time.Second, "how long a checkpoint waits for the witnesses' cosignatures")
	return f
}

// keyPath is the key file: --ledger-key, or beside a SQLite database, or in
// the working directory.
func (f *ledgerFlags) keyPath(dsn string) string {
	if f.keyFile != "" {
		return f.keyFile
	}
	if !store.IsPostgres(dsn) && dsn != "" {
		return filepath.Join(filepath.Dir(dsn), "chipgate-ledger.key")
	}
	return "chipgate-ledger.key"
}

// signer returns the ledger signer: the key in CHIPGATE_LEDGER_KEY (a
// signing key in note format), or in the key file, created on first start;
// the signer's state file; and the witnesses, at least quorum of them. The
// key file holds the signing key on its first line and the verifier key on
// its second; it must be readable by its owner alone.
func (f *ledgerFlags) signer(dsn string, quorum int, log *slog.Logger) (*service.LedgerSigner, *ledgerlog.Metrics, error) {
	path := f.keyPath(dsn)
	key, err := f.key(path)
	if err != nil {
		return nil, nil, err
	}
	statePath := f.state
	if statePath == "" {
		statePath = path + ".checkpoint"
	}
	// Read it once now, so that a file others may write stops the start.
	if _, err := ledger.ReadNoteFile(statePath); err != nil {
		return nil, nil, fmt.Errorf("--ledger-state: %w", err)
	}
	if !store.IsPostgres(dsn) && dsn != "" && os.Getenv("CHIPGATE_LEDGER_KEY") == "" && sameDir(path, dsn) {
		log.Warn("ledger: the signing key sits in the database's directory: whoever can write the database there can likely read the key and rewrite the signer's state too; keep them elsewhere (--ledger-key, --ledger-state)",
			"key", path, "state", statePath, "database", dsn)
	}
	var ws []ledgerlog.Witness
	hc := &http.Client{Timeout: f.witnessTimeout}
	for _, spec := range f.witnesses {
		url, vkey, ok := strings.Cut(spec, "=")
		if !ok {
			return nil, nil, fmt.Errorf("--witness %q: want URL=KEY (the witness's add-checkpoint prefix and cosignature verifier key)", spec)
		}
		c, err := witness.NewClient(url, vkey, hc)
		if err != nil {
			return nil, nil, fmt.Errorf("--witness %q: %w", spec, err)
		}
		ws = append(ws, c)
	}
	if quorum > len(ws) {
		return nil, nil, fmt.Errorf("--witness: the policy (ledger.witnesses) requires %d witnesses to cosign each checkpoint, but %d are configured", quorum, len(ws))
	}
	metrics := ledgerlog.NewMetrics()
	s, err := service.NewLedgerSignerWith(key, service.LedgerOptions{State: ledgerlog.FileState(statePath), Witnesses: ws, Quorum: quorum,
		WitnessTimeout: f.witnessTimeout, Metrics: metrics, Log: log})
	if err != nil {
		return nil, nil, err
	}
	log.Info("ledger signer", "key", path, "state", statePath, "witnesses", len(ws), "required_cosignatures", quorum)
	return s, metrics, nil
}

// key reads the signing key from CHIPGATE_LEDGER_KEY or the key file,
// creating the file on first start. It refuses a key file that group or
// others may read.
func (f *ledgerFlags) key(path string) (*ledgerlog.KeySigner, error) {
	if env := os.Getenv("CHIPGATE_LEDGER_KEY"); env != "" {
		skey, vkey, ok := strings.Cut(strings.TrimSpace(env), "\n")
		if !ok {
			return nil, errors.New("CHIPGATE_LEDGER_KEY: want the signing key and the verifier key on two lines")
		}
		return ledgerlog.NewKeySigner(skey, strings.TrimSpace(vkey))
	}
	data, err := readKeyFile(path)
	if errors.Is(err, os.ErrNotExist) {
		skey, vkey, err := ledger.GenerateKey(f.origin)
		if err != nil {
			return nil, fmt.Errorf("--ledger-origin: %w", err)
		}
		if err := createKeyFile(path, skey, vkey); err != nil {
			return nil, fmt.Errorf("--ledger-key: %w", err)
		}
		return ledgerlog.NewKeySigner(skey, vkey)
	}
	if err != nil {
		return nil, fmt.Errorf("--ledger-key: %w", err)
	}
	skey, vkey, ok := strings.Cut(strings.TrimSpace(string(data)), "\n")
	if !ok {
		return nil, fmt.Errorf("--ledger-key: %s: want the signing key and the verifier key on two lines", path)
	}
	s, err := ledgerlog.NewKeySigner(skey, strings.TrimSpace(vkey))
	if err != nil {
		return nil, fmt.Errorf("--ledger-key: %s: %w", path, err)
	}
	return s, nil
}

// readKeyFile reads a private key file, refusing one with any group or
// other permission bit: a signing key readable by others is no longer the
// log's alone.
func readKeyFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%s has mode %04o: a signing key must be readable by its owner only (chmod 600 %s)", path, perm, path)
	}
	return os.ReadFile(path)
}

// createKeyFile writes a new key file, mode 0600, failing if one exists.
func createKeyFile(path, skey, vkey string) error {
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, werr := fmt.Fprintf(fh, "%s\n%s\n", skey, vkey)
	return errors.Join(werr, fh.Sync(), fh.Close())
}

// sameDir reports whether two files are in the same directory.
func sameDir(a, b string) bool {
	da, err1 := filepath.Abs(filepath.Dir(a))
	db, err2 := filepath.Abs(filepath.Dir(b))
	return err1 == nil && err2 == nil && da == db
}

// readVerifierKey takes a verifier key given on the command line: the key
// itself, or a file holding it on a line of its own. A file that holds a
// signing key is refused: only the public key belongs there.
func readVerifierKey(flag, value string, parse func(string) (note.Verifier, error)) (string, note.Verifier, error) {
	if v, err := parse(value); err == nil {
		return strings.TrimSpace(value), v, nil
	}
	data, err := os.ReadFile(value)
	if err != nil {
		return "", nil, fmt.Errorf("%s %q: neither a verifier key nor a readable file", flag, value)
	}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "PRIVATE+KEY+") {
			return "", nil, fmt.Errorf("%s %s: the file holds a signing key; give only the verifier key", flag, value)
		}
		if v, err := parse(line); err == nil {
			return line, v, nil
		}
	}
	return "", nil, fmt.Errorf("%s %s: no verifier key in the file", flag, value)
}

// readNotes reads signed checkpoint notes from files (--checkpoint).
func readNotes(flag string, files []string) ([]ledger.SourcedNote, error) {
	var out []ledger.SourcedNote
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", flag, err)
		}
		out = append(out, ledger.SourcedNote{Source: f, Note: b})
	}
	return out, nil
}

// unsignedShare and unsignedSlack say when the entries past the latest
// signed checkpoint are too many to be the tail the signer has not reached
// yet (it signs every --checkpoint-every): more than a tenth of the log and
// more than 100 entries.
const (
	unsignedShare = 10
	unsignedSlack = 100
)

func newLedgerVerifyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Recompute every leaf and node of the ledger from the stored records and check every checkpoint",
		Long: `Recompute every leaf hash and every node of the ledger's Merkle tree from the
records stored in the database, compare them with the stored tree, and check
the root at every signed checkpoint: those in the database and those given
with --checkpoint, kept where whoever can write the database cannot (the
signer's state file, a witness's state). Without --checkpoint, the signer's
state file at serve's default place (the key file's name + .checkpoint) is
used when this machine has it. Exits with status 1 naming the first bad
entry.

Records that verify prove nothing by themselves: whoever rewrites them can
rebuild the tree too. Only a signed checkpoint vouches for them. A log with no
signed checkpoint, or whose latest one covers far less than the log (more
than a tenth of it and more than 100 entries), fails with status 2 unless
--allow-unsigned is given.`,
		Args: cobra.NoArgs,
	}
	db := dbFlag(cmd, "")
	cpFiles := cmd.Flags().StringArray("checkpoint", nil, "a signed checkpoint kept outside the database (the signer's state file, a witness's state) to check too (repeatable)")
	logKey := cmd.Flags().String("log-key", "", "the log's verifier key, or a file holding it: pins the key rather than trusting the database's")
	allowUnsigned := cmd.Flags().Bool("allow-unsigned", false, "accept a log that no signed checkpoint (or one covering far less than the log) vouches for, still saying so")
	withState := cmd.Flags().Bool("state", false, "also replay the post-states the records carry and compare every license, permit, order, shipment, serial, counter and other state row with the tables, naming each row that differs, and check the screening log's hash chain against its seals in the log, naming the first entry that differs (exit 1)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		opts := service.VerifyOptions{}
		if *logKey != "" {
			k, _, err := readVerifierKey("--log-key", *logKey, ledger.ParseVerifierKey)
			if err != nil {
				return err
			}
			opts.LogKey = k
		}
		files := *cpFiles
		if len(files) == 0 {
			// The signer's state file where serve keeps it by default,
			// if this machine has it.
			state := os.Getenv("CHIPGATE_LEDGER_STATE")
			if state == "" {
				state = (&ledgerFlags{keyFile: os.Getenv("CHIPGATE_LEDGER_KEY_FILE")}).keyPath(*db) + ".checkpoint"
			}
			if _, err := os.Stat(state); err == nil {
				files = []string{state}
			}
		}
		notes, err := readNotes("--checkpoint", files)
		if err != nil {
			return err
		}
		opts.Checkpoints = notes
		svc, done, err := openService(cmd, *db)
		if err != nil {
			return err
		}
		defer done()
		start := time.Now()
		var sum ledger.VerifySummary
		var rep service.StateReport
		if *withState {
			sum, rep, err = svc.VerifyState(cmd.Context(), opts)
		} else {
			sum, err = svc.VerifyLogWith(cmd.Context(), opts)
		}
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
		verdict := writeVerifyReport(cmd.OutOrStdout(), sum, files, took, *allowUnsigned)
		if *withState {
			if err := writeStateReport(cmd.OutOrStdout(), rep); err != nil {
				return err
			}
		}
		return verdict
	}
	return cmd
}

// writeStateReport writes what `verify --state` found, and returns an exit
// status 1 error when a row disagrees with the log.
func writeStateReport(w io.Writer, rep service.StateReport) error {
	sl := rep.ScreeningLog
	if len(sl.Diffs) == 0 {
		fmt.Fprintf(w, "screenings:  OK: %d screening log entries chained, %d seals in the log agree (%d logged before the chain)\n", sl.Entries, sl.Seals, sl.Unchained)
	} else {
		fmt.Fprintf(w, "screenings:  FAILED: the screening log disagrees with its chain or its seals (%d entries, %d seals)\n", sl.Entries, sl.Seals)
		for _, d := range sl.Diffs {
			fmt.Fprintf(w, "  %s\n", d)
		}
	}
	if len(rep.Diffs) == 0 {
		if _, err := fmt.Fprintf(w, "state:       OK: %d rows agree with the last post-state the log holds for each (%d records replayed)\n", rep.Rows, rep.Records); err != nil {
			return err
		}
		if len(sl.Diffs) > 0 {
			return &exitError{code: 1, err: fmt.Errorf("ledger verify --state FAILED: the screening log was changed: %s", sl.Diffs[0])}
		}
		return nil
	}
	fmt.Fprintf(w, "state:       FAILED: %d of %d rows disagree with the log (%d records replayed)\n", len(rep.Diffs), rep.Rows, rep.Records)
	for _, d := range rep.Diffs {
		fmt.Fprintf(w, "  %s\n", d)
	}
	return &exitError{code: 1, err: fmt.Errorf("ledger verify --state FAILED: %d rows disagree with the log, first %s", len(rep.Diffs), rep.Diffs[0])}
}

// coverage judges how far signed checkpoints vouch for a log that
// recomputed consistently, for "ledger verify" and "ledger audit" (what):
// the first line of the report, which says "OK" only when a signed
// checkpoint covers the log but for a short tail, and an error (exit status
// 2) when nothing, or far too little, is signed and allowUnsigned is off.
func coverage(what string, sum ledger.VerifySummary, allowUnsigned bool) (string, error) {
	unsigned := sum.Size - sum.Signed
	farBehind := unsigned*unsignedShare > sum.Size && unsigned > unsignedSlack
	switch {
	case sum.Size == 0:
		return what + " OK: the log is empty", nil
	case sum.Checkpoints == 0 && allowUnsigned:
		return what + " UNSIGNED (accepted with --allow-unsigned): the records recompute to a consistent tree, but NO signed checkpoint vouches for any of them", nil
	case sum.Checkpoints == 0:
		return what + " FAILED: UNSIGNED LOG: the records recompute to a consistent tree, but NO signed checkpoint vouches for any of them",
			&exitError{code: 2, err: fmt.Errorf("%s: no signed checkpoint covers the %d entries: whoever rewrote them could have rebuilt the tree; check against a checkpoint kept elsewhere (--checkpoint FILE: the signer's state file, a witness's), or pass --allow-unsigned", what, sum.Size)}
	case farBehind && allowUnsigned:
		return fmt.Sprintf("%s PARTLY UNSIGNED (accepted with --allow-unsigned): signed checkpoints cover only %d of %d entries", what, sum.Signed, sum.Size), nil
	case farBehind:
		return fmt.Sprintf("%s FAILED: PARTLY UNSIGNED LOG: signed checkpoints cover only %d of %d entries", what, sum.Signed, sum.Size),
			&exitError{code: 2, err: fmt.Errorf("%s: entries %d to %d (%d) are not covered by any signed checkpoint: were the later checkpoints deleted? Check against a checkpoint kept elsewhere (--checkpoint FILE), or pass --allow-unsigned", what, sum.Signed, sum.Size-1, unsigned)}
	case unsigned > 0:
		return what + " OK, but for an unsigned tail", nil
	}
	return what + " OK", nil
}

// writeCoverage writes what the signed checkpoints cover.
func writeCoverage(w io.Writer, sum ledger.VerifySummary) {
	if sum.Checkpoints == 0 {
		fmt.Fprintf(w, "signed:      NOTHING: 0 checkpoints\n")
		return
	}
	if sum.Signed > 0 {
		fmt.Fprintf(w, "signed:      entries 0 to %d, by the checkpoint of size %d (%d checkpoints verified)\n", sum.Signed-1, sum.Signed, sum.Checkpoints)
	} else {
		fmt.Fprintf(w, "signed:      only the empty tree (%d checkpoints verified)\n", sum.Checkpoints)
	}
	if unsigned := sum.Size - sum.Signed; unsigned > 0 {
		fmt.Fprintf(w, "unsigned:    entries %d to %d (%d), not yet covered by a signed checkpoint\n", sum.Signed, sum.Size-1, unsigned)
	}
}

// writeVerifyReport writes the verify report and returns the coverage's
// verdict.
func writeVerifyReport(w io.Writer, sum ledger.VerifySummary, outside []string, took time.Duration, allowUnsigned bool) error {
	head, fail := coverage("ledger verify", sum, allowUnsigned)
	fmt.Fprintf(w, "%s\nentries:     %d\nroot:        %s\n", head, sum.Size, sum.Root)
	writeCoverage(w, sum)
	if len(outside) > 0 {
		fmt.Fprintf(w, "also from:   %s\n", strings.Join(outside, ", "))
	}
	_, err := fmt.Fprintf(w, "took:        %s (%.0f entries/s)\n", took.Round(time.Millisecond), float64(sum.Size)/took.Seconds())
	if fail != nil {
		return fail
	}
	return err
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
