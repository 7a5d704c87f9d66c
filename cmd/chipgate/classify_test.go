package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestClassifyJSON(t *testing.T) {
	out, err := runChipgate(t, "classify", "--json", "--at", "2026-02-01", "h20", "h200", "b200")
	if err != nil {
		t.Fatal(err)
	}
	type dest struct {
		Status string   `json:"status"`
		Rules  []string `json:"rules"`
	}
	want := []struct {
		product string
		tpp     float64
		eccn    string
		cn      string
	}{
		{"h20", 2368, "EAR99", "license_required"}, // by letter (S21), not by its TPP
		{"h200", 15832, "3A090.a", "license_required"},
		{"b200", 36000, "3A090.a", "denied"},
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), out)
	}
	for i, l := range lines {
		var got struct {
			Product      string          `json:"product"`
			TPP          float64         `json:"tpp"`
			PD           float64         `json:"pd"`
			ECCN         string          `json:"eccn"`
			Destinations map[string]dest `json:"destinations"`
		}
		if err := json.Unmarshal([]byte(l), &got); err != nil {
			t.Fatal(err)
		}
		w := want[i]
		if got.Product != w.product || got.TPP != w.tpp || got.ECCN != w.eccn || got.PD <= 0 ||
			got.Destinations["CN"].Status != w.cn || len(got.Destinations["CN"].Rules) == 0 {
			t.Errorf("line %d: %s", i, l)
		}
		for _, d := range []string{"US", "CN", "MO", "default"} {
			if got.Destinations[d].Status == "" {
				t.Errorf("%s: no status for %s", w.product, d)
			}
		}
	}
}

func TestClassifyDates(t *testing.T) {
	for _, tc := range []struct{ at, want string }{{"2026-01-14", "denied"}, {"2026-01-15", "license_required"}} {
		out, err := runChipgate(t, "classify", "--json", "--at", tc.at, "h200")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, `"CN":{"status":"`+tc.want+`"`) {
			t.Errorf("at %s: %s", tc.at, out)
		}
	}
}

func TestClassifySpecFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mi325x.json")
	spec := `{"throughput": [{"bits": 8, "dense_tops": 2614.875}], "die_area_mm2": 1000, "memory_gb": 256, "bandwidth_gbps": 6000, "launch_date": "2024-10-10"}`
	if err := os.WriteFile(path, []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runChipgate(t, "classify", "--at", "2026-02-01", "--spec", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"mi325x: TPP 20,919", "3A090.a", "license_required", "dest.cn-mo"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if err := os.WriteFile(path, []byte(`{"throughput": [], "colour": 1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := runChipgate(t, "classify", "--spec", path); err == nil {
		t.Error("bad spec accepted")
	}
	if _, err := runChipgate(t, "classify", "nosuchchip"); err == nil {
		t.Error("unknown product accepted")
	}
}

func TestPolicyCheck(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	src := "policy: x\nsources: [{id: S1, title: t}]\nrules:\n- id: a\n  source: S2\n  from: 2026-01-01\n  end_use: {prohibited: [military]}\n"
	if err := os.WriteFile(bad, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runChipgate(t, "policy", "check", bad)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 1 {
		t.Fatalf("error %v, want exit 1", err)
	}
	if !strings.Contains(out, bad+":5: rule a: source: unknown source id \"S2\"") {
		t.Errorf("output %q", out)
	}
	out, err = runChipgate(t, "policy", "check", "../../policies/default.yaml")
	if err != nil || !strings.Contains(out, ": ok: policy chipgate-default") {
		t.Errorf("default: %v %s", err, out)
	}
}

func TestPolicyShow(t *testing.T) {
	out, err := runChipgate(t, "policy", "show", "--at", "2026-02-01", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Rules []struct{ ID string } `json:"rules"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, r := range got.Rules {
		ids[r.ID] = true
	}
	// The parent-HQ rule dates from 2023-11-17 (S17).
	if !ids["dest.cn-mo"] || !ids["duty.section-232"] || !ids["end-user.parent-d5"] || !ids["letter.h20"] {
		t.Errorf("rules in force on 2026-02-01: %v", ids)
	}
	out, err = runChipgate(t, "policy", "show", "--at", "2026-06-01")
	if err != nil || !strings.Contains(out, "end-user.parent-d5") {
		t.Errorf("text show: %v\n%s", err, out)
	}
	// Every decision with the rules in force that have a say in it.
	for _, want := range []string{"import at customs — Rules.DecideImport", "rules in force: cn.import-permit", "cn-import  China's import regime"} {
		if !strings.Contains(out, want) {
			t.Errorf("text show lacks %q", want)
		}
	}
}
