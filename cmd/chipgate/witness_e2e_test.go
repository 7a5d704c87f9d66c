package main_test

import (
	"bytes"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/chipgatetest"
	"github.com/chipgate/chipgate/policies"
)

// TestLedgerWitnessE2E runs issue 16 end to end with the binary: a witness
// run by another party cosigns the server's checkpoints and an auditor
// requires its cosignature; an operator who rewrites a record, deletes the
// checkpoints and the tree gets no signature from the server (the signer's
// state file remembers); one who also deletes that state gets a signature
// but no cosignature, and the audit reports a split view with both notes.
func TestLedgerWitnessE2E(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	for _, d := range []string{"data", "keys", "witness"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	db := filepath.Join(dir, "data", "chipgate.db")
	key := filepath.Join(dir, "keys", "ledger.key")
	tokens := filepath.Join(dir, "tokens.json")
	run := func(args ...string) (string, error) {
		out, err := exec.Command(bin, args...).CombinedOutput()
		return string(out), err
	}
	secondLine := func(file string) string {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(strings.Split(string(b), "\n")[1])
	}

	// The demo creates the log and its key, away from the database.
	demo, _ := start(t, bin, "demo", "--addr", "127.0.0.1:0", "--db", db, "--ledger-key", key, "--tokens-file", tokens)
	stop(t, demo)
	logKey := secondLine(key)
	// api sends requests to whichever server runs now: paths are whole URLs.
	api := &chipgatetest.Client{TB: t, Creds: chipgatetest.ReadTokens(t, tokens)}
	get := func(url, party string) (int, []byte) {
		r := api.Do(party, "GET", url, nil)
		return r.Status, r.Body
	}

	// The import authority runs a witness.
	wkeyFile, wstate := filepath.Join(dir, "witness", "witness.key"), filepath.Join(dir, "witness", "state")
	w, wurl := start(t, bin, "witness", "--addr", "127.0.0.1:0", "--key", wkeyFile, "--name", "witness.mofcom.test/chipgate", "--log-key", logKey, "--state", wstate)
	defer stop(t, w)
	wkey := secondLine(wkeyFile)

	// The policy requires one cosignature.
	policy := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(policy, bytes.Replace(policies.Default, []byte("ledger:\n  witnesses: 0"), []byte("ledger:\n  witnesses: 1"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	serve := func() (*exec.Cmd, string) {
		return start(t, bin, "serve", "--db", db, "--addr", "127.0.0.1:0", "--ledger-key", key, "--policy", policy,
			"--witness", wurl+"="+wkey, "--checkpoint-every", "200ms")
	}
	if out, err := run("serve", "--db", db, "--addr", "127.0.0.1:0", "--ledger-key", key, "--policy", policy); err == nil || !strings.Contains(out, "requires 1 witnesses") {
		t.Fatalf("serve without the witness the policy requires: %v\n%s", err, out)
	}
	srv, url := serve()
	if r := api.Do("us-commerce", "POST", url+"/api/v1/tokens", map[string]any{"label": "witnessed"}); r.Status != 201 {
		t.Fatalf("issue a token: %d %s", r.Status, r.Body)
	}
	cp := waitFor(t, func() (string, bool) {
		status, body := get(url+"/checkpoint", "")
		return string(body), status == 200 && strings.Contains(string(body), "\n— witness.mofcom.test/chipgate ")
	})
	if status, _ := get(url+"/tile/0/000.p/1", ""); status != 200 {
		t.Fatalf("a tile without a token: %d", status)
	}
	stop(t, srv)
	exp := filepath.Join(dir, "export1")
	if out, err := run("ledger", "export", "--db", db, "--out", exp); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	if out, err := run("ledger", "audit", exp, "--policy", policy, "--witness-key", wkey, "--checkpoint", wstate, "--log-key", logKey); err != nil || !strings.Contains(out, "ledger audit OK") {
		t.Fatalf("audit of a witnessed log: %v\n%s\n(checkpoint served:\n%s)", err, out, cp)
	}

	// Issue 16: a record rewritten, the checkpoints and the tree deleted.
	sqlExec(t, db, `UPDATE audit_log SET payload = CAST(replace(CAST(payload AS TEXT), '"', '''') AS BLOB) WHERE idx = 5`,
		`DELETE FROM ledger_checkpoints`, `DELETE FROM ledger_tiles`)
	srv, url = serve()
	time.Sleep(time.Second) // a few refused checkpoints
	if status, _ := get(url+"/checkpoint", ""); status != 404 {
		t.Fatalf("a checkpoint was published over a rewritten history: %d", status)
	}
	_, metrics := get(url+"/metrics", "us-commerce")
	if !strings.Contains(string(metrics), "chipgate_ledger_signatures_refused_total") || strings.Contains(string(metrics), "chipgate_ledger_signatures_refused_total 0") {
		t.Fatalf("no refusal counted:\n%s", grepLines(string(metrics), "chipgate_ledger_"))
	}
	stop(t, srv)
	out, err := run("ledger", "verify", "--db", db)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(out, "UNSIGNED LOG") {
		t.Fatalf("verify without checkpoints: %v\n%s", err, out)
	}
	out, err = run("ledger", "verify", "--db", db, "--checkpoint", key+".checkpoint", "--checkpoint", wstate)
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(out, "FAILED at entry") {
		t.Fatalf("verify against the signer's and the witness's checkpoints: %v\n%s", err, out)
	}

	// An insider who also deletes the signer's state gets a signature, but
	// the witness refuses to cosign and keeps the evidence.
	if err := os.Remove(key + ".checkpoint"); err != nil {
		t.Fatal(err)
	}
	srv, url = serve()
	waitFor(t, func() (string, bool) {
		status, body := get(url+"/checkpoint", "")
		return string(body), status == 200
	})
	time.Sleep(500 * time.Millisecond)
	stop(t, srv)
	if ev, _ := filepath.Glob(wstate + ".evidence/*"); len(ev) == 0 {
		t.Fatal("the witness kept no evidence")
	}
	exp2 := filepath.Join(dir, "export2")
	if out, err := run("ledger", "export", "--db", db, "--out", exp2); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	out, err = run("ledger", "audit", exp2, "--policy", policy, "--witness-key", wkey)
	if !errors.As(err, &ee) || !strings.Contains(out, "not witnessed") {
		t.Fatalf("audit of an unwitnessed history: %v\n%s", err, out)
	}
	out, err = run("ledger", "audit", exp2, "--checkpoint", wstate)
	if !errors.As(err, &ee) || !strings.Contains(out, "SPLIT VIEW") || !strings.Contains(out, "— witness.mofcom.test/chipgate ") {
		t.Fatalf("audit against the witness's state: %v\n%s", err, out)
	}
}

// waitFor polls cond for up to 15 s and returns its last value.
func waitFor(t *testing.T, cond func() (string, bool)) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		v, ok := cond()
		if ok {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("still not so after 15 s:\n%s", v)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func sqlExec(t *testing.T, db string, queries ...string) {
	t.Helper()
	raw, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range queries {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
