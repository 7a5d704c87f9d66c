package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chipgate/chipgate/policies"
)

// runScreen runs `chipgate screen args...` in-process and returns stdout.
func runScreen(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := execute(newScreenCmd(), stdin, &out, &errOut, args...)
	return out.String(), err
}

func TestScreenJSONEmbeddedFallback(t *testing.T) {
	out, err := runScreen(t, "", "--json", "--limit", "2", "Huawei Technologies Co., Ltd.", "Emily Thornbury")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want one JSON line per name, got %d:\n%s", len(lines), out)
	}
	var first, second screenResult
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &second); err != nil {
		t.Fatal(err)
	}
	if first.Query != "Huawei Technologies Co., Ltd." || len(first.Hits) == 0 || len(first.Hits) > 2 {
		t.Fatalf("first = %+v", first)
	}
	h := first.Hits[0]
	if h.List != "EL" || h.SourceID == "" || h.Score < 0.9 || h.Score > 1 || h.Matched == "" || h.Name == "" {
		t.Errorf("hit = %+v", h)
	}
	if second.Hits == nil || len(second.Hits) != 0 {
		t.Errorf("clean name: hits = %#v, want an empty array", second.Hits)
	}
	// The wire format the issue specifies: these keys, hits as an array.
	var raw map[string]any
	json.Unmarshal([]byte(lines[0]), &raw)
	hit := raw["hits"].([]any)[0].(map[string]any)
	for _, k := range []string{"list", "source_id", "name", "score", "matched"} {
		if _, ok := hit[k]; !ok {
			t.Errorf("hit lacks %q: %v", k, hit)
		}
	}
}

func TestScreenInputFile(t *testing.T) {
	in := filepath.Join(t.TempDir(), "names.txt")
	if err := os.WriteFile(in, []byte("Huawei Technologies\n\n   \nGuawei Technologies\n!!!\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runScreen(t, "", "--json", "--input", in)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("blank lines must be skipped; got %d lines:\n%s", len(lines), out)
	}
	var r, bad screenResult
	json.Unmarshal([]byte(lines[1]), &r)
	if r.Query != "Guawei Technologies" || len(r.Hits) == 0 {
		t.Errorf("second result = %+v", r)
	}
	json.Unmarshal([]byte(lines[2]), &bad)
	if bad.Query != "!!!" || bad.Error == "" || len(bad.Hits) != 0 {
		t.Errorf("a name without letters must get an error line, got %+v", bad)
	}
	// Standard input works the same.
	out2, err := runScreen(t, "Huawei Technologies\nGuawei Technologies\n!!!\n", "--json", "--input", "-")
	if err != nil || out2 != out {
		t.Errorf("stdin run differs: %v\n%s", err, out2)
	}
}

func TestScreenLists(t *testing.T) {
	// The repository's cut of the real lists: SDN, CSL, UN and DPL files.
	dir := filepath.Join("..", "..", "testdata", "lists")
	out, err := runScreen(t, "", "--lists", dir, "--json", "Banco Nacional de Cuba")
	if err != nil {
		t.Fatal(err)
	}
	var r screenResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Hits) == 0 || r.Hits[0].List != "SDN" || r.Hits[0].SourceID != "306" {
		t.Errorf("result = %+v", r)
	}
}

func TestScreenErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"NoNames", []string{}},
		{"NamesAndInput", []string{"--input", "x.txt", "Huawei"}},
		{"EmptyName", []string{""}},
		{"BadMinScore", []string{"--min-score", "1.5", "Huawei"}},
		{"BadLimit", []string{"--limit", "0", "Huawei"}},
		{"MissingListDir", []string{"--lists", "/nonexistent/lists", "Huawei"}},
		{"MissingInput", []string{"--input", "/nonexistent/names.txt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := runScreen(t, "", tt.args...); err == nil {
				t.Error("no error")
			}
		})
	}
}

// TestScreenThresholdFromPolicy: the threshold comes from the policy's
// screening rule; --min-score overrides it.
func TestScreenThresholdFromPolicy(t *testing.T) {
	hits := func(args ...string) int {
		t.Helper()
		out, err := runChipgate(t, append([]string{"screen", "--json", "--limit", "100"}, args...)...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		var res screenResult
		if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &res); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		return len(res.Hits)
	}
	low := filepath.Join(t.TempDir(), "low.yaml")
	if err := os.WriteFile(low, bytes.Replace(policies.Default, []byte("min_score: 0.86"), []byte("min_score: 0.4"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	def, loose := hits("Huawei"), hits("--policy", low, "Huawei")
	if loose <= def {
		t.Errorf("policy min_score 0.4: %d hits, default policy %d; want more", loose, def)
	}
	if strict := hits("--policy", low, "--min-score", "0.86", "Huawei"); strict != def {
		t.Errorf("--min-score 0.86 over a 0.4 policy: %d hits, want the default's %d", strict, def)
	}
}
