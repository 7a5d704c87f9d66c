package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/chipgate/chipgate/internal/allocation"
)

func runAllocate(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := execute(newAllocateCmd(), stdin, &out, &out, args...)
	return out.String(), err
}

func TestAllocateCmd(t *testing.T) {
	b, err := os.ReadFile("../../testdata/allocation/basic.json")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("JSON", func(t *testing.T) {
		out, err := runAllocate(t, string(b), "--json")
		if err != nil {
			t.Fatal(err)
		}
		var res allocation.Result
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("output is not a result: %v\n%s", err, out)
		}
		if len(res.Allocations) == 0 || res.Metrics.Allocated == 0 || len(res.Metrics.Tiers) != 3 {
			t.Errorf("unexpected result: %s", out)
		}
	})
	t.Run("Text", func(t *testing.T) {
		out, err := runAllocate(t, string(b))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"TIER", "UNMET ORDER", "cap:region_ratio[0]", "HHI among CN+MO buyers"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("ErrBadInput", func(t *testing.T) {
		bad := strings.Replace(string(b), `"quantity": 100`, `"quantity": 0`, 1)
		_, err := runAllocate(t, bad, "--json")
		if err == nil || !strings.Contains(err.Error(), "lots[0].quantity") || strings.Contains(err.Error(), "\n") {
			t.Errorf("err = %v, want one line naming lots[0].quantity", err)
		}
	})
}
