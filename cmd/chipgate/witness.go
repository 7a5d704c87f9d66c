package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/chipgate/chipgate/internal/ledger"
	"github.com/chipgate/chipgate/internal/server"
	"github.com/chipgate/chipgate/internal/witness"
)

func newWitnessCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "witness",
		Short: "Run a witness that cosigns a chipgate ledger's checkpoints (C2SP tlog-witness), for a party other than the log's operator",
		Long: `Run a witness of one chipgate ledger: a process that a party other than the
log's operator (the import authority, an auditor) runs on its own machine.

It serves POST /add-checkpoint (C2SP tlog-witness). For every new checkpoint
the log submits, it checks the log's signature (--log-key) and the
consistency proof from the latest checkpoint it cosigned, kept in --state,
and only then cosigns (cosignature/v1) and remembers the new one. A log that
shows two histories cannot get both cosigned: the second is refused and both
signed notes are kept in --state + ".evidence/" and logged at error level.

The witness key is created on first start (--name names it). Give the log
operator the verifier key printed at start ("serve --witness URL=KEY"), and
auditors the same key ("ledger audit --witness-key KEY"). The state file is
itself evidence: "ledger audit --checkpoint STATE" checks an export against
what this witness saw.`,
		Args: cobra.NoArgs,
	}
	addr := cmd.Flags().String("addr", "127.0.0.1:7380", "listen address")
	keyFile := cmd.Flags().String("key", "", "file holding the witness's signing key, created (mode 0600) on first start")
	name := cmd.Flags().String("name", "", "the witness's name for a new key, a schema-less URL (e.g. witness.mofcom.example/chipgate)")
	logKey := cmd.Flags().String("log-key", "", "the log's verifier key (GET /api/v1/ledger/key), or a file holding it")
	state := cmd.Flags().String("state", "", "file where the witness keeps the latest checkpoint it cosigned (created)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		log := slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), nil))
		for flag, v := range map[string]string{"--key": *keyFile, "--log-key": *logKey, "--state": *state} {
			if v == "" {
				return fmt.Errorf("%s: required", flag)
			}
		}
		cosigner, err := witnessKey(*keyFile, *name)
		if err != nil {
			return err
		}
		_, lv, err := readVerifierKey("--log-key", *logKey, ledger.ParseVerifierKey)
		if err != nil {
			return err
		}
		w, err := witness.New(witness.Config{Cosigner: cosigner, LogKey: lv, StateFile: *state, Log: log})
		if err != nil {
			return fmt.Errorf("--state: %w", err)
		}
		ln, err := net.Listen("tcp", *addr)
		if err != nil {
			return fmt.Errorf("--addr: %w", err)
		}
		url := "http://" + ln.Addr().String()
		latest := "none yet"
		if c, _, ok := w.Latest(); ok {
			latest = fmt.Sprintf("size %d, root %s", c.Size, c.Root)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "chipgate witness %s: %s, cosigning the checkpoints of %s\nverifier key: %s\nlatest cosigned: %s\n\nThe log's operator adds:  --witness %s=%s\nAuditors add:             --witness-key %s\n",
			cosigner.Name(), url, lv.Name(), cosigner.VerifierKey(), latest, url, cosigner.VerifierKey(), cosigner.VerifierKey())
		return server.Serve(cmd.Context(), ln, w, log, 10*time.Second)
	}
	return cmd
}

// witnessKey reads the witness's key file (signing key on the first line,
// verifier key on the second), or creates it with a new key named name. It
// refuses a key file that group or others may read.
func witnessKey(path, name string) (*ledger.Cosigner, error) {
	data, err := readKeyFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if name == "" {
			return nil, fmt.Errorf("--key: %s does not exist: give --name to create a new witness key", path)
		}
		skey, vkey, err := ledger.GenerateWitnessKey(name)
		if err != nil {
			return nil, fmt.Errorf("--name: %w", err)
		}
		if err := createKeyFile(path, skey, vkey); err != nil {
			return nil, fmt.Errorf("--key: %w", err)
		}
		return ledger.ParseCosigner(skey)
	}
	if err != nil {
		return nil, fmt.Errorf("--key: %w", err)
	}
	skey, _, _ := strings.Cut(strings.TrimSpace(string(data)), "\n")
	c, err := ledger.ParseCosigner(skey)
	if err != nil {
		return nil, fmt.Errorf("--key: %s: %w", path, err)
	}
	if name != "" && name != c.Name() {
		return nil, fmt.Errorf("--name %q: the key in %s is named %q", name, path, c.Name())
	}
	return c, nil
}
