package policy_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/policy"
	"github.com/chipgate/chipgate/policies"
)

// TestRedFlags: each red flag of the policy on both sides of its line; the
// words and the uses that fit a business are the policy file's.
func TestRedFlags(t *testing.T) {
	rules := mustDefault(t).At(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	clean := func() domain.Application {
		return domain.Application{
			LegalName: "Beijing ByteDance Technology Co., Ltd.", Country: "CN", Registered: "2012-03-09",
			Addresses: []string{"Block A, Zhongguancun Science Park"}, BusinessType: domain.ClassPlatform,
			EndUses: []string{"commercial_ai"}, Sites: []domain.Site{{Address: "Data Center Road 1", Country: "CN", PowerMW: 200}},
			Volumes: map[string]int64{"h200": 100000},
		}
	}
	codes := func(a domain.Application) []string {
		var out []string
		for _, f := range rules.RedFlagsOf(&a) {
			out = append(out, f.Code)
		}
		return out
	}
	if got := codes(clean()); len(got) != 0 {
		t.Fatalf("clean application flagged: %v", got)
	}
	cases := []struct {
		name string
		edit func(a *domain.Application)
		want string
	}{
		{"NewCustomer", func(a *domain.Application) { a.Registered = "2024-02-01" }, "new_customer"},
		{"NotNewOnTheDay", func(a *domain.Application) { a.Registered = "2022-10-01" }, ""},
		{"Residential", func(a *domain.Application) { a.Addresses = []string{"Room 1203, Apartment 7, Lane 88"} }, "residential_address"},
		{"ResidentialPhrase", func(a *domain.Application) { a.Addresses = []string{"3rd Floor, Unit 5, 18 Harbour Road"} }, "residential_address"},
		{"NotResidentialPart", func(a *domain.Application) { a.Addresses = []string{"Homestead Data Park, Building 3"} }, ""},
		{"PowerShort", func(a *domain.Application) { a.Sites[0].PowerMW = 119 }, "power_short"}, // 100,000 × 1.2 kW = 120 MW
		{"PowerEnough", func(a *domain.Application) { a.Sites[0].PowerMW = 120 }, ""},
		{"Forwarder", func(a *domain.Application) { a.LegalName = "Pacific Freight Logistics Ltd." }, "freight_forwarder"},
		{"ZeroWidthInName", func(a *domain.Application) { a.LegalName = "Hua\u200bwei Technologies Co., Ltd." }, "name_evasion"},
		{"OverrideInAlias", func(a *domain.Application) { a.Aliases = []string{"\u202eseigolonhceT iewauH\u202c"} }, "name_evasion"},
		{"HomoglyphInChineseName", func(a *domain.Application) { a.ChineseName = "\u0397uawei" }, "name_evasion"},
		{"HonestChineseName", func(a *domain.Application) { a.ChineseName = "華為技術有限公司" }, ""},
		{"EndUseMismatch", func(a *domain.Application) { a.BusinessType = domain.ClassUniversity }, "end_use_mismatch"},
		{"Hub", func(a *domain.Application) { a.Sites[0].Country = "SG" }, "transshipment_hub"},
		{"ParentD5", func(a *domain.Application) { a.Country, a.ParentCountry = "SG", "CN" }, "parent_d5"},
		{"ParentMacau", func(a *domain.Application) { a.Country, a.ParentCountry = "MY", "MO" }, "parent_d5"},
		{"ParentJapan", func(a *domain.Application) { a.Country, a.ParentCountry = "SG", "JP" }, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := clean()
			c.edit(&a)
			got := codes(a)
			if c.want == "" && len(got) != 0 {
				t.Fatalf("flags %v, want none", got)
			}
			if c.want != "" && !slices.Contains(got, c.want) {
				t.Fatalf("flags %v, want %s", got, c.want)
			}
		})
	}
}

// TestScreeningThresholds: the screening thresholds are the policy's, with
// their rule id, and a bad value is refused with the field named.
func TestScreeningThresholds(t *testing.T) {
	p := mustDefault(t)
	sc, id, ok := p.At(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)).Screening()
	if !ok || id != "screening.thresholds" || sc.MinScore != 0.86 || sc.MatchScore != 0.95 || sc.MaxListShrink != 0.2 {
		t.Fatalf("Screening() = %+v, %q, %v", sc, id, ok)
	}
	bad := bytes.Replace(policies.Default, []byte("match_score: 0.95"), []byte("match_score: 0.5"), 1)
	if _, err := policy.Load("bad.yaml", bad); err == nil || !strings.Contains(err.Error(), "match_score") {
		t.Fatalf("match_score below min_score: %v", err)
	}
	rules := p.At(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
	if sc.FourEyes() != 0.95 || rules.ScreeningSource() != "S5" {
		t.Fatalf("four eyes from %v, source %q", sc.FourEyes(), rules.ScreeningSource())
	}
	for _, d := range policy.HitDecisions {
		found := false
		for _, r := range sc.Reasons {
			found = found || slices.Contains(r.Decisions, d)
		}
		if !found {
			t.Errorf("no reason for %s in the default policy", d)
		}
	}
	if r, ok := sc.Reason("different_identifiers"); !ok || !slices.Equal(r.Decisions, []string{"false_positive"}) {
		t.Errorf("Reason(different_identifiers) = %+v, %v", r, ok)
	}
	for _, c := range []struct{ old, new, want string }{
		{"four_eyes_score: 0.95", "four_eyes_score: 0.5", "four_eyes_score"},
		{"decisions: [escalated], summary", "decisions: [waved], summary", "waved"},
		{"{code: insufficient_information, decisions: [escalated]", "{code: different_location, decisions: [confirmed]", "listed twice"},
		{"decisions: [escalated, confirmed]", "decisions: [confirmed]", "no reason for the decision escalated"},
	} {
		bad := bytes.Replace(policies.Default, []byte(c.old), []byte(c.new), 1)
		if bytes.Equal(bad, policies.Default) {
			t.Fatalf("%q not in the default policy", c.old)
		}
		if c.want == "no reason for the decision escalated" {
			bad = bytes.Replace(bad, []byte("decisions: [escalated], summary"), []byte("decisions: [confirmed], summary"), 1)
		}
		if _, err := policy.Load("bad.yaml", bad); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s → %s: %v, want an error naming %s", c.old, c.new, err, c.want)
		}
	}
}
