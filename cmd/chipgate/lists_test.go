package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestListsLoadIntegrity: `lists load` refuses a version that loses most
// entities or fails to parse a record, with one line saying why, and keeps
// the last good one; --force needs --reason and then accepts it.
func TestListsLoadIntegrity(t *testing.T) {
	tmp := t.TempDir()
	db := filepath.Join(tmp, "chipgate.db")
	fixture := filepath.Join("..", "..", "testdata", "lists")
	if out, err := runChipgate(t, "lists", "load", "--db", db, fixture); err != nil {
		t.Fatalf("first load: %v\n%s", err, out)
	}
	// Only the Denied Persons List: 66 of 785 entities.
	shrunk := filepath.Join(tmp, "shrunk")
	data, err := os.ReadFile(filepath.Join(fixture, "bis_dpl", "dpl.txt"))
	if err != nil {
		t.Fatal(err)
	}
	must(t, os.MkdirAll(shrunk, 0o755))
	must(t, os.WriteFile(filepath.Join(shrunk, "dpl.txt"), data, 0o644))
	out, err := runChipgate(t, "lists", "load", "--db", db, shrunk)
	if err == nil || !strings.Contains(err.Error(), "shrinks from 785 to 66 entities") {
		t.Fatalf("shrunk list: %v\n%s", err, out)
	}
	// The fixture with its CSL cut off in the middle of a record.
	trunc := filepath.Join(tmp, "trunc")
	must(t, os.CopyFS(trunc, os.DirFS(fixture)))
	csl := filepath.Join(trunc, "us_csl", "consolidated.csv")
	data, err = os.ReadFile(csl)
	if err != nil {
		t.Fatal(err)
	}
	must(t, os.WriteFile(csl, append(data[:len(data)-400:len(data)-400], []byte("\n\"unterminated,")...), 0o644))
	out, err = runChipgate(t, "lists", "load", "--db", db, trunc)
	if err == nil || !strings.Contains(err.Error(), "failed to parse") {
		t.Fatalf("truncated list: %v\n%s", err, out)
	}
	if _, err := runChipgate(t, "lists", "load", "--db", db, "--force", shrunk); err == nil || !strings.Contains(err.Error(), "reason") {
		t.Fatalf("--force without --reason: %v", err)
	}
	if out, err := runChipgate(t, "lists", "load", "--db", db, "--force", "--reason", "test: DPL only", shrunk); err != nil {
		t.Fatalf("--force --reason: %v\n%s", err, out)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
