package policy_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/chipgate/chipgate/internal/policy"
)

func TestFigure(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"},
		{15832, "15,832"},
		{36000, "36,000"},
		{1234567.891, "1,234,567.89"},
		{19.449631, "19.45"},
		{5.92, "5.92"},
		{2.5, "2.5"},
		{-21000, "-21,000"},
		{-0.001, "0"},
		{999, "999"},
		{1000, "1,000"},
	}
	for _, tc := range tests {
		if got := policy.Figure(tc.in); got != tc.want {
			t.Errorf("Figure(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestRulesJSON(t *testing.T) {
	b, err := json.Marshal(mustDefault(t).At(day("2026-02-01")))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Policy string `json:"policy"`
		Rules  []struct {
			ID     string         `json:"id"`
			Kind   string         `json:"kind"`
			Source string         `json:"source"`
			From   string         `json:"from"`
			Params map[string]any `json:"params"`
		} `json:"rules"`
		Sources []struct{ ID, Title string } `json:"sources"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	var cnmo, duty map[string]any
	for _, r := range got.Rules {
		switch r.ID {
		case "dest.cn-mo":
			cnmo = r.Params
			if r.From != "2026-01-15" || r.Source != "S4" || r.Kind != "destination" {
				t.Errorf("dest.cn-mo %+v", r)
			}
		case "duty.section-232":
			duty = r.Params
		}
	}
	if cnmo == nil || cnmo["review"].(map[string]any)["tpp_below"] != 21000.0 {
		t.Errorf("dest.cn-mo params %v", cnmo)
	}
	if duty == nil || duty["rate"] != "25%" {
		t.Errorf("duty params %v", duty)
	}
	if got.Policy != "chipgate-default" || len(got.Sources) == 0 || !strings.HasPrefix(got.Sources[0].ID, "S") {
		t.Errorf("policy %q sources %v", got.Policy, got.Sources)
	}
}
