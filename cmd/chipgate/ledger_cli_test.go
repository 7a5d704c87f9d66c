package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/ledger"
	"github.com/chipgate/chipgate/internal/ledgerlog"
	"github.com/chipgate/chipgate/internal/service"
	"github.com/chipgate/chipgate/internal/store/storetest"
	"github.com/chipgate/chipgate/internal/witness"
	"github.com/chipgate/chipgate/policies"
)

// signedLog is a SQLite database whose ledger a signer with a state file
// signed.
type signedLog struct {
	dsn, state, skey, vkey string
	svc                    *service.Service
	signer                 *service.LedgerSigner
}

func newSignedLog(t *testing.T, n int) *signedLog {
	t.Helper()
	st, dsn := storetest.OpenSQLite(t)
	skey, vkey, err := ledger.GenerateKey("chipgate.test/cli")
	if err != nil {
		t.Fatal(err)
	}
	k, err := ledgerlog.NewKeySigner(skey, vkey)
	if err != nil {
		t.Fatal(err)
	}
	l := &signedLog{dsn: dsn, state: filepath.Join(t.TempDir(), "ledger.key.checkpoint"), skey: skey, vkey: vkey, svc: service.New(st, service.Options{Log: slog.New(slog.DiscardHandler)})}
	if l.signer, err = service.NewLedgerSignerWith(k, service.LedgerOptions{State: ledgerlog.FileState(l.state)}); err != nil {
		t.Fatal(err)
	}
	l.add(t, n)
	if _, err := l.svc.SignCheckpoint(context.Background(), l.signer); err != nil {
		t.Fatal(err)
	}
	return l
}

var parties int

func (l *signedLog) add(t *testing.T, n int) {
	t.Helper()
	for range n {
		parties++
		if _, err := l.svc.CreateParty(context.Background(), domain.SystemActor, service.PartyRequest{Slug: fmt.Sprintf("p%d", parties), Name: "P", Role: domain.RoleAuditor, Country: "US"}); err != nil {
			t.Fatal(err)
		}
	}
}

func (l *signedLog) exec(t *testing.T, q string) {
	t.Helper()
	raw, err := sql.Open("sqlite", l.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(q); err != nil {
		t.Fatal(err)
	}
}

// TestLedgerVerifyCoverage: verify never prints a bare OK for a log no
// signature vouches for, and checks checkpoints kept outside the database.
func TestLedgerVerifyCoverage(t *testing.T) {
	l := newSignedLog(t, 150)
	verify := func(args ...string) (string, error) {
		return runChipgate(t, append([]string{"ledger", "verify", "--db", l.dsn}, args...)...)
	}
	out, err := verify()
	if err != nil || !strings.HasPrefix(out, "ledger verify OK\n") || !strings.Contains(out, "signed:      entries 0 to 149, by the checkpoint of size 150") {
		t.Fatalf("signed log: %v\n%s", err, out)
	}
	l.add(t, 5)
	if out, err = verify(); err != nil || !strings.HasPrefix(out, "ledger verify OK, but for an unsigned tail") || !strings.Contains(out, "unsigned:    entries 150 to 154 (5)") {
		t.Fatalf("unsigned tail: %v\n%s", err, out)
	}

	// Issue 16: the checkpoints deleted, the log verifies "OK … 0".
	l.exec(t, `DELETE FROM ledger_checkpoints`)
	out, err = verify()
	if exitCode(err) != 2 || strings.Contains(out, "verify OK") || !strings.Contains(out, "UNSIGNED LOG") || !strings.Contains(out, "signed:      NOTHING") {
		t.Fatalf("no checkpoint: exit %d %v\n%s", exitCode(err), err, out)
	}
	if out, err = verify("--allow-unsigned"); err != nil || !strings.HasPrefix(out, "ledger verify UNSIGNED (accepted with --allow-unsigned)") {
		t.Fatalf("--allow-unsigned: %v\n%s", err, out)
	}
	// The signer's state file still vouches for the first 150.
	if out, err = verify("--checkpoint", l.state, "--log-key", l.vkey); err != nil || !strings.Contains(out, "by the checkpoint of size 150") {
		t.Fatalf("with the state file: %v\n%s", err, out)
	}
	// ...and names a changed record.
	l.exec(t, `UPDATE audit_log SET action = 'party.removed' WHERE idx = 7`)
	if out, err = verify("--checkpoint", l.state); exitCode(err) != 1 || !strings.Contains(err.Error(), "FAILED at entry 7") {
		t.Fatalf("a changed record: %v\n%s", err, out)
	}
	// A key that is not the log's.
	_, other, _ := ledger.GenerateKey("chipgate.test/cli")
	if _, err = verify("--log-key", other); err == nil || !strings.Contains(err.Error(), "not the one given") {
		t.Fatalf("another key: %v", err)
	}
}

// TestLedgerVerifyFarBehind: a checkpoint that covers far less than the log
// (the later ones deleted) is not enough.
func TestLedgerVerifyFarBehind(t *testing.T) {
	l := newSignedLog(t, 20)
	l.add(t, 263)
	if _, err := l.svc.SignCheckpoint(context.Background(), l.signer); err != nil {
		t.Fatal(err)
	}
	l.exec(t, `DELETE FROM ledger_checkpoints WHERE size > 20`)
	out, err := runChipgate(t, "ledger", "verify", "--db", l.dsn)
	if exitCode(err) != 2 || !strings.Contains(out, "PARTLY UNSIGNED LOG: signed checkpoints cover only 20 of 283 entries") {
		t.Fatalf("exit %d %v\n%s", exitCode(err), err, out)
	}
}

// TestLedgerKeyCustody: serve refuses a signing key, or a signer's state,
// that others may read or write, and warns about a key beside the database.
func TestLedgerKeyCustody(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "chipgate.db")
	key := filepath.Join(dir, "keys", "ledger.key")
	if err := os.Mkdir(filepath.Dir(key), 0o700); err != nil {
		t.Fatal(err)
	}
	skey, vkey, _ := ledger.GenerateKey("chipgate.test/cli")
	if err := os.WriteFile(key, []byte(skey+"\n"+vkey+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := runChipgate(t, "serve", "--db", db, "--ledger-key", key, "--addr", "127.0.0.1:0")
	if err == nil || !strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), "0644") {
		t.Fatalf("a key readable by others: %v", err)
	}
	if err := os.Chmod(key, 0o600); err != nil {
		t.Fatal(err)
	}
	state := key + ".checkpoint"
	if err := os.WriteFile(state, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(state, 0o666); err != nil {
		t.Fatal(err)
	}
	_, err = runChipgate(t, "demo", "--db", db, "--ledger-key", key, "--addr", "127.0.0.1:0")
	if err == nil || !strings.Contains(err.Error(), "--ledger-state") || !strings.Contains(err.Error(), "0666") {
		t.Fatalf("a state others may write: %v", err)
	}
	if err := os.Remove(state); err != nil {
		t.Fatal(err)
	}

	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	beside := &ledgerFlags{origin: "chipgate.test/cli", witnessTimeout: time.Second}
	if _, _, err := beside.signer(db, 0, log); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "sits in the database's directory") {
		t.Fatalf("no warning for a key beside the database:\n%s", logs.String())
	}
	logs.Reset()
	away := &ledgerFlags{keyFile: key, witnessTimeout: time.Second}
	if _, _, err := away.signer(db, 0, log); err != nil || strings.Contains(logs.String(), "database's directory") {
		t.Fatalf("a key elsewhere: %v\n%s", err, logs.String())
	}
	// The policy's witnesses must be configured.
	if _, _, err := away.signer(db, 1, log); err == nil || !strings.Contains(err.Error(), "requires 1 witnesses") {
		t.Fatalf("a quorum without witnesses: %v", err)
	}
	bad := &ledgerFlags{keyFile: key, witnesses: []string{"http://127.0.0.1:1"}}
	if _, _, err := bad.signer(db, 0, log); err == nil || !strings.Contains(err.Error(), "URL=KEY") {
		t.Fatalf("a witness without a key: %v", err)
	}
	bad.witnesses = []string{"http://127.0.0.1:1=" + vkey}
	if _, _, err := bad.signer(db, 0, log); err == nil || !strings.Contains(err.Error(), "cosignature") {
		t.Fatalf("a log key as a witness key: %v", err)
	}
}

// TestLedgerAuditWitnessesAndSplitView: audit requires the policy's number
// of cosignatures from the witnesses given, and reports a checkpoint from
// elsewhere that the export's history does not lead to as a split view,
// printing both signed notes.
func TestLedgerAuditWitnessesAndSplitView(t *testing.T) {
	ctx := context.Background()
	l := newSignedLog(t, 30)
	wskey, wvkey, err := ledger.GenerateWitnessKey("witness.test/cli")
	if err != nil {
		t.Fatal(err)
	}
	cosigner, _ := ledger.ParseCosigner(wskey)
	logKey, _ := ledger.ParseVerifierKey(l.vkey)
	wstate := filepath.Join(t.TempDir(), "witness.state")
	w, err := witness.New(witness.Config{Cosigner: cosigner, LogKey: logKey, StateFile: wstate})
	if err != nil {
		t.Fatal(err)
	}
	k, _ := ledgerlog.NewKeySigner(l.skey, l.vkey)
	witnessed, err := service.NewLedgerSignerWith(k, service.LedgerOptions{State: ledgerlog.FileState(l.state), Witnesses: []ledgerlog.Witness{w}, Quorum: 1})
	if err != nil {
		t.Fatal(err)
	}
	l.add(t, 10)
	if c, err := l.svc.SignCheckpoint(ctx, witnessed); err != nil || c == nil {
		t.Fatalf("sign: %+v %v", c, err)
	}
	exp := filepath.Join(t.TempDir(), "export")
	if _, err := l.svc.ExportLog(ctx, exp); err != nil {
		t.Fatal(err)
	}
	audit := func(args ...string) (string, error) {
		return runChipgate(t, append([]string{"ledger", "audit", exp}, args...)...)
	}

	out, err := audit("--witness-key", wvkey, "--witnesses", "1", "--checkpoint", wstate)
	if err != nil || !strings.HasPrefix(out, "ledger audit OK") || !strings.Contains(out, "by 1 of the 1 witnesses given (1 required): witness.test/cli at ") {
		t.Fatalf("witnessed: %v\n%s", err, out)
	}
	if _, err := audit("--witnesses", "1"); err == nil || !strings.Contains(err.Error(), "1 witness keys were given") && !strings.Contains(err.Error(), "only 0 witness keys") {
		t.Fatalf("a quorum without witness keys: %v", err)
	}
	policy := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(policy, bytes.Replace(policies.Default, []byte("ledger:\n  witnesses: 0"), []byte("ledger:\n  witnesses: 2"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	_, other, _ := ledger.GenerateWitnessKey("witness.test/other")
	if _, err := audit("--policy", policy, "--witness-key", wvkey, "--witness-key", other); exitCode(err) != 1 || !strings.Contains(err.Error(), "not witnessed") {
		t.Fatalf("two required by the policy, one cosigned: %v", err)
	}

	// The log's key signed another history of 35 entries, shown to someone
	// who kept it: a split view, with both notes as evidence.
	signer, _ := ledger.ParseSignerKey(l.skey)
	fork, err := ledger.SignCheckpoint(signer, ledger.Checkpoint{Origin: "chipgate.test/cli", Size: 35, Root: ledger.HashLeafData([]byte("another history"))})
	if err != nil {
		t.Fatal(err)
	}
	kept := filepath.Join(t.TempDir(), "kept.txt")
	if err := os.WriteFile(kept, fork, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = audit("--checkpoint", kept)
	if exitCode(err) != 1 || !strings.Contains(out, "SPLIT VIEW") || !strings.Contains(out, string(fork)) || !strings.Contains(out, kept) {
		t.Fatalf("split view: %v\n%s", err, out)
	}

	// An export without any checkpoint is not OK.
	if err := os.RemoveAll(filepath.Join(exp, ledger.ExportCheckpointsDir)); err != nil {
		t.Fatal(err)
	}
	if out, err := audit(); exitCode(err) != 2 || !strings.Contains(out, "UNSIGNED LOG") {
		t.Fatalf("no checkpoint: %v\n%s", err, out)
	}
	if out, err := audit("--allow-unsigned"); err != nil || !strings.Contains(out, "UNSIGNED (accepted") {
		t.Fatalf("no checkpoint, allowed: %v\n%s", err, out)
	}
}

// TestLedgerVerifyFindsTheSignersState: without --checkpoint, verify uses
// the signer's state file where serve keeps it by default (beside a SQLite
// database's key), so deleting the database's checkpoints hides nothing.
func TestLedgerVerifyFindsTheSignersState(t *testing.T) {
	l := newSignedLog(t, 30)
	state := filepath.Join(filepath.Dir(l.dsn), "chipgate-ledger.key.checkpoint")
	b, err := os.ReadFile(l.state)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(state, b, 0o600); err != nil {
		t.Fatal(err)
	}
	l.exec(t, `DELETE FROM ledger_checkpoints`)
	out, err := runChipgate(t, "ledger", "verify", "--db", l.dsn)
	if err != nil || !strings.HasPrefix(out, "ledger verify OK\n") || !strings.Contains(out, "also from:   "+state) {
		t.Fatalf("%v\n%s", err, out)
	}
	l.exec(t, `UPDATE audit_log SET subject_id = 'x' WHERE idx = 12`)
	if out, err := runChipgate(t, "ledger", "verify", "--db", l.dsn); exitCode(err) != 1 || !strings.Contains(err.Error(), "entry 12") {
		t.Fatalf("a changed record: %v\n%s", err, out)
	}
}
