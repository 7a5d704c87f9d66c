package policy_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/chipgate/chipgate/internal/policy"
	"github.com/chipgate/chipgate/policies"
)

func TestLoadLedgerSettings(t *testing.T) {
	const block = "ledger:\n  witnesses: 0"
	if !bytes.Contains(policies.Default, []byte(block)) {
		t.Fatalf("the default policy has no %q", block)
	}
	with := func(text string) []byte { return bytes.Replace(policies.Default, []byte(block), []byte(text), 1) }
	if p, err := policy.Load("default.yaml", policies.Default); err != nil || p.Ledger().Witnesses != 0 {
		t.Fatalf("default: %v", err)
	}
	if p, err := policy.Load("two.yaml", with("ledger:\n  witnesses: 2")); err != nil || p.Ledger().Witnesses != 2 {
		t.Fatalf("two witnesses: %v", err)
	}
	if p, err := policy.Load("none.yaml", with("")); err != nil || p.Ledger().Witnesses != 0 {
		t.Fatalf("no ledger block: %v", err)
	}
	_, err := policy.Load("bad.yaml", with("ledger:\n  witnesses: -1"))
	if err == nil || !strings.Contains(err.Error(), "ledger.witnesses") || strings.Contains(err.Error(), "bad.yaml:0:") {
		t.Fatalf("negative witnesses: %v", err)
	}
	if _, err := policy.Load("unknown.yaml", with("ledger:\n  witneses: 1")); err == nil {
		t.Fatal("an unknown ledger key was accepted")
	}
}
