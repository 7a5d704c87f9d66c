package policy_test

import (
	"strings"
	"testing"

	"github.com/chipgate/chipgate/internal/chipgatetest"
	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/policy"
)

// TestLicenseExceptions: a 3A090.b chip (not a data-center 3A090.a part)
// goes to a D:1/D:4 destination under License Exception ACA without a
// license, and to China under NAC only with a confirmed notification; a
// data-center 3A090.a chip never qualifies.
func TestLicenseExceptions(t *testing.T) {
	p := mustDefault(t)
	feb := day("2026-02-01")
	b := spec(3200, 800, 2000) // TPP 3,200, PD 4: 3A090.b
	tests := []struct {
		name    string
		change  func(*policy.OrderFacts)
		want    domain.Outcome
		rule    string
		grant   string
		message string
	}{
		{"ACA to Vietnam, no notification", func(f *policy.OrderFacts) {
			f.Destination, f.SiteCountry, f.BuyerHQ, f.ParentHQ = "VN", "VN", "VN", "VN"
		},
			domain.Accepted, "exception.aca", "ACA", "license exception ACA (C68) covers 3A090.b to VN"},
		{"NAC to China without a confirmed notification", nil, domain.HeldForReview, "exception.nac", "", "none is confirmed"},
		{"NAC to China with a confirmation", func(f *policy.OrderFacts) {
			f.Notifications = []policy.Notification{{Exception: "NAC", Confirmation: "C67-0042"}}
		}, domain.Accepted, "exception.nac", "NAC C67-0042", "without a license (NAC C67-0042)"},
		{"ACA does not reach D:5 (China)", func(f *policy.OrderFacts) {
			f.Notifications = []policy.Notification{{Exception: "ACA", Confirmation: "x"}}
		}, domain.HeldForReview, "exception.nac", "", "none is confirmed"},
		{"a data-center 3A090.a part never qualifies", func(f *policy.OrderFacts) {
			f.Spec = product(t, "h200").Spec
			f.Notifications = []policy.Notification{{Exception: "NAC", Confirmation: "C67-0042"}}
		}, domain.HeldForReview, "dest.cn-mo", "", "no license on file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := h200CN(t, feb)
			f.Product, f.Spec, f.Licenses = "chip-b", b, nil
			if tc.change != nil {
				tc.change(&f)
			}
			d := p.DecideOrder(f)
			if d.Outcome != tc.want {
				t.Fatalf("outcome %s, want %s:%s", d.Outcome, tc.want, messages(d.Reasons))
			}
			found := false
			for _, r := range d.Reasons {
				found = found || (r.Rule == tc.rule && strings.Contains(r.Message, tc.message))
			}
			if !found {
				t.Fatalf("no reason of %s saying %q:%s", tc.rule, tc.message, messages(d.Reasons))
			}
			var refs []string
			for _, g := range d.Grants() {
				if g.Kind == domain.GrantException {
					refs = append(refs, g.Ref)
				}
			}
			if got := strings.Join(refs, ","); got != tc.grant {
				t.Errorf("exception grants %q, want %q", got, tc.grant)
			}
		})
	}
}

// TestThirdRegime: a third jurisdiction is a policy-file change. The test
// regime (testdata/eu-regime.yaml) adds EU dual-use rules for exports that
// pass through the Netherlands: an order to China then needs a license of
// each regime, a US license answers only the US requirement, and a release
// by the EU authority lifts only its own jurisdiction's holds.
func TestThirdRegime(t *testing.T) {
	p := chipgatetest.ThirdRegime(t)
	if _, ok := p.JurisdictionOf(domain.RoleExportAuthority, "NL"); !ok {
		t.Fatal("the EU authority speaks for no jurisdiction")
	}
	feb := day("2026-02-01")
	rules := p.At(feb)
	f := h200CN(t, feb)
	d := rules.DecideOrder(f)
	by := d.ByJurisdiction()
	if d.Outcome != domain.HeldForReview || by["eu-dual-use"] != domain.HeldForReview || by["us-ear"] != domain.Accepted {
		t.Fatalf("with only a US license: %s %v:%s", d.Outcome, by, messages(d.Reasons))
	}
	if !blockedBy(d, "eu.dest.cn") {
		t.Fatalf("not held by the EU rule:%s", messages(d.Blocking()))
	}
	// An EU license answers the EU requirement: both regimes' grants drawn.
	f.Licenses = append(f.Licenses, policy.License{ID: "EU-1", Jurisdiction: "eu-dual-use", Status: policy.GrantActive,
		Products: []string{"h200"}, Remaining: 500, ValidFrom: day("2026-01-01"), ValidUntil: day("2027-01-01")})
	d = rules.DecideOrder(f)
	if d.Outcome != domain.Accepted {
		t.Fatalf("with both licenses: %s:%s", d.Outcome, messages(d.Reasons))
	}
	got := map[string]string{}
	for _, g := range d.Grants() {
		got[g.Jurisdiction+"/"+string(g.Kind)] = g.Ref
	}
	if got["us-ear/license"] != "L-1" || got["eu-dual-use/license"] != "EU-1" || got["cn-import/permit"] != "P-1" {
		t.Fatalf("grants %+v", d.Grants())
	}
	// A red flag of the EU regime (releasable) and a missing permit: the
	// EU release lifts the one, never the other; the US release neither.
	f.Permits, f.SitePowerKW = nil, 1
	d = rules.DecideOrder(f)
	if !blockedBy(d, "eu.red-flag") || !blockedBy(d, "cn.import-permit") || !blockedBy(d, "vetting.red-flags") {
		t.Fatalf("before release:%s", messages(d.Blocking()))
	}
	f.Released = []policy.Release{{Jurisdiction: "eu-dual-use", By: "nl-cdiu"}}
	d = rules.DecideOrder(f)
	if blockedBy(d, "eu.red-flag") || !blockedBy(d, "cn.import-permit") || !blockedBy(d, "vetting.red-flags") {
		t.Fatalf("after the EU release:%s", messages(d.Blocking()))
	}
}
