package sim_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/chipgate/chipgate/internal/sim"
	"github.com/chipgate/chipgate/policies"
)

// policyWithout writes the default policy without the rules of one kind
// (their parameter block's key) into dir and returns its file name.
func policyWithout(t *testing.T, dir, kind string) string {
	t.Helper()
	var root yaml.Node
	if err := yaml.Unmarshal(policies.Default, &root); err != nil {
		t.Fatal(err)
	}
	doc := root.Content[0]
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value != "rules" {
			continue
		}
		rules := doc.Content[i+1]
		kept := rules.Content[:0]
		for _, r := range rules.Content {
			has := false
			for j := 0; j+1 < len(r.Content); j += 2 {
				has = has || r.Content[j].Value == kind
			}
			if !has {
				kept = append(kept, r)
			}
		}
		rules.Content = kept
	}
	b, err := yaml.Marshal(&root)
	if err != nil {
		t.Fatal(err)
	}
	name := "without-" + kind + ".yaml"
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

// TestVariantNeedsItsRule: a variant that changes a parameter the policy
// does not have is an error naming the variant's field, not a variant
// that silently changes nothing; the scenario's own policy file is read
// relative to the scenario.
func TestVariantNeedsItsRule(t *testing.T) {
	smoke, err := os.ReadFile(smokePath)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, kind, variant, wantErr string
	}{
		{"OK", "red_flags", "{name: v, duty: \"15%\"}", ""},
		{"ErrDuty", "duty", "{name: v, duty: \"15%\"}", "duty: policy"},
		{"ErrCap", "volume_cap", "{name: v, cn_cap: \"40%\"}", "cn_cap: policy"},
		{"ErrLotAge", "lot_age", "{name: v, min_lot_age_days: 90}", "min_lot_age_days: policy"},
		{"ErrReserve", "allocation", "{name: v, reserve: \"5%\"}", "reserve: policy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			pol := policyWithout(t, dir, tt.kind)
			s := string(smoke)
			s = s[:strings.Index(s, "variants:")] + "policy: " + pol + "\nvariants:\n  - " + tt.variant + "\n"
			path := filepath.Join(dir, "scenario.yaml")
			if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := sim.Run(mustLoad(t, path), sim.Options{})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("run: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}
