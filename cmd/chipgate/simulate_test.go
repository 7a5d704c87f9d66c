package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runSimulate(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := execute(newSimulateCmd(), "", &out, &out, args...)
	return out.String(), err
}

func TestSimulateCmd(t *testing.T) {
	t.Run("CompareAndFiles", func(t *testing.T) {
		dir := t.TempDir()
		out, err := runSimulate(t, "--scenario", "../../scenarios/smoke.yaml", "--out", dir, "--compare", "--seed", "3")
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"baseline", "duty-0", "cap-none", "duty collected", "CN share of US", "seed 3"} {
			if !strings.Contains(out, want) {
				t.Errorf("compare table lacks %q:\n%s", want, out)
			}
		}
		for _, name := range []string{"report.html", "summary.json", "money.csv", "decisions.csv", "lab_queue.csv"} {
			if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
				t.Error(err)
			}
		}
	})
	t.Run("ErrMissingFlags", func(t *testing.T) {
		if _, err := runSimulate(t, "--out", t.TempDir()); err == nil || !strings.Contains(err.Error(), "--scenario") {
			t.Errorf("err = %v, want one naming --scenario", err)
		}
	})
	t.Run("ErrBadScenario", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "bad.yaml")
		if err := os.WriteFile(path, []byte("name: x\nstart: 2026-01-19\nweeks: twelve\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := runSimulate(t, "--scenario", path, "--out", t.TempDir())
		if err == nil || !strings.Contains(err.Error(), "weeks:") {
			t.Errorf("err = %v, want one naming weeks", err)
		}
	})
}
