package policy_test

import (
	"strings"
	"testing"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/policy"
)

// TestDecideImport: where China's import regime requires a permit, only an
// active cn-import permit with room lets units in; nothing an export
// authority released stands in for it.
func TestDecideImport(t *testing.T) {
	p := mustDefault(t)
	feb := day("2026-02-01")
	h200 := product(t, "h200").Spec
	permit := func(mod func(*policy.BorderGrant)) *policy.BorderGrant {
		g := &policy.BorderGrant{Number: "IP-1", Jurisdiction: "cn-import", Status: domain.GrantActive, Through: 900, Quantity: 1000}
		if mod != nil {
			mod(g)
		}
		return g
	}
	tests := []struct {
		name string
		f    policy.ImportFacts
		want domain.Outcome
		msg  string
	}{
		{"permit with room", policy.ImportFacts{At: feb, Spec: h200, Destination: "CN", Units: 100, Permit: permit(nil)}, domain.Accepted, "admits 100 units (1,000 of 1,000)"},
		{"one unit too many", policy.ImportFacts{At: feb, Spec: h200, Destination: "CN", Units: 101, Permit: permit(nil)}, domain.Rejected, "101 more exceed it"},
		{"no permit drawn", policy.ImportFacts{At: feb, Spec: h200, Destination: "CN", Units: 1}, domain.Rejected, "needs an import permit of cn-import"},
		{"permit of another regime", policy.ImportFacts{At: feb, Spec: h200, Destination: "CN", Units: 1, Permit: permit(func(g *policy.BorderGrant) { g.Jurisdiction = "us-ear" })}, domain.Rejected, "not of cn-import"},
		{"permit revoked", policy.ImportFacts{At: feb, Spec: h200, Destination: "CN", Units: 1, Permit: permit(func(g *policy.BorderGrant) { g.Status = domain.GrantRevoked })}, domain.Rejected, "is revoked"},
		{"customs admit none (2026-01-20)", policy.ImportFacts{At: day("2026-01-20"), Spec: h200, Destination: "CN", Units: 1, Permit: permit(nil)}, domain.Rejected, "admit no"},
		{"no regime for the US", policy.ImportFacts{At: feb, Spec: h200, Destination: "US", Units: 1}, domain.Accepted, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := p.At(tc.f.At).DecideImport(tc.f)
			if d.Outcome != tc.want {
				t.Fatalf("outcome %s, want %s: %+v", d.Outcome, tc.want, d.Reasons)
			}
			if tc.msg == "" {
				return
			}
			if len(d.Reasons) != 1 || d.Reasons[0].Rule != "cn.import-permit" || d.Reasons[0].Jurisdiction != "cn-import" || !strings.Contains(d.Reasons[0].Message, tc.msg) {
				t.Fatalf("reasons %+v: want cn.import-permit saying %q", d.Reasons, tc.msg)
			}
			if (d.Outcome == domain.Accepted) != (len(d.Grants()) == 1) {
				t.Errorf("grants %+v for %s", d.Grants(), d.Outcome)
			}
		})
	}
}

// TestDecideExport: the export leg needs the license the destination
// requires, room under the cap on units actually exported, and a passing
// lab test.
func TestDecideExport(t *testing.T) {
	p := mustDefault(t)
	feb := day("2026-02-01")
	h200 := product(t, "h200")
	base := func(mod func(*policy.ExportFacts)) policy.ExportFacts {
		f := policy.ExportFacts{At: feb, Product: "h200", Spec: h200.Spec, LaunchDate: h200.LaunchDate, Destination: "CN", Units: 100,
			License:        &policy.BorderGrant{Number: "EL-1", Jurisdiction: "us-ear", Status: domain.GrantActive, Through: 0, Quantity: 100},
			ExportedRegion: 400, ExportedUS: 1000, LabPassed: true}
		if mod != nil {
			mod(&f)
		}
		return f
	}
	tests := []struct {
		name string
		f    policy.ExportFacts
		want domain.Outcome
		rule string
		msg  string
	}{
		{"everything in order", base(nil), domain.Accepted, "", ""},
		{"cap exactly reached", base(func(f *policy.ExportFacts) { f.ExportedRegion = 400 }), domain.Accepted, "", ""},
		{"cap one unit over", base(func(f *policy.ExportFacts) { f.ExportedRegion = 401 }), domain.Rejected, "volume.cn-mo-cap", "501 against 50% of the 1,000"},
		{"no license drawn", base(func(f *policy.ExportFacts) { f.License = nil }), domain.Rejected, "dest.cn-mo", "needs a license"},
		{"license exhausted", base(func(f *policy.ExportFacts) { f.License.Through = 1 }), domain.Rejected, "dest.cn-mo", "100 more exceed it"},
		{"license suspended", base(func(f *policy.ExportFacts) { f.License.Status = domain.GrantSuspended }), domain.Rejected, "dest.cn-mo", "is suspended"},
		{"no lab test", base(func(f *policy.ExportFacts) { f.LabPassed = false }), domain.Rejected, "shipment.lab-test", "no passing lab test"},
		{"US needs nothing", base(func(f *policy.ExportFacts) { f.Destination, f.License, f.LabPassed = "US", nil, false }), domain.Accepted, "", ""},
		{"B200 to China denied", base(func(f *policy.ExportFacts) { f.Spec = product(t, "b200").Spec }), domain.Rejected, "dest.cn-mo", "denied"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := p.At(feb).DecideExport(tc.f)
			if d.Outcome != tc.want {
				t.Fatalf("outcome %s, want %s: %+v", d.Outcome, tc.want, d.Reasons)
			}
			if tc.rule != "" && !blockedBy(d, tc.rule) {
				t.Fatalf("not blocked by %s: %+v", tc.rule, d.Blocking())
			}
			for _, r := range d.Blocking() {
				if r.Rule == tc.rule && !strings.Contains(r.Message, tc.msg) {
					t.Errorf("%s says %q, want %q", r.Rule, r.Message, tc.msg)
				}
			}
		})
	}
}

// TestReleaseLiftsOnlyItsJurisdiction: a release by one jurisdiction lifts
// its own releasable holds and nothing of another's.
func TestReleaseLiftsOnlyItsJurisdiction(t *testing.T) {
	p := mustDefault(t)
	f := h200CN(t, day("2026-02-01"))
	f.SitePowerKW, f.Permits = 1, nil // a red flag (us-ear, releasable) and no permit (cn-import)
	rules := p.At(f.At)
	d := rules.DecideOrder(f)
	if d.Outcome != domain.HeldForReview || !blockedBy(d, "vetting.red-flags") || !blockedBy(d, "cn.import-permit") {
		t.Fatalf("before: %+v", d.Blocking())
	}
	f.Released = []policy.Release{{Jurisdiction: "us-ear", By: "us-commerce"}}
	d = rules.DecideOrder(f)
	if d.Outcome != domain.HeldForReview || blockedBy(d, "vetting.red-flags") || !blockedBy(d, "cn.import-permit") {
		t.Fatalf("after the US release: %+v", d.Blocking())
	}
	for _, r := range d.Reasons {
		if r.Rule == "vetting.red-flags" && d.ReleasedBy(r) != "us-commerce" {
			t.Errorf("the lifted hold does not say who released it: %+v", r)
		}
	}
	f.Released = []policy.Release{{Jurisdiction: "cn-import", By: "cn-mofcom"}}
	if d = rules.DecideOrder(f); !blockedBy(d, "vetting.red-flags") || !blockedBy(d, "cn.import-permit") {
		t.Fatalf("China's release lifted the wrong hold: %+v", d.Blocking())
	}
	if by := d.ByJurisdiction(); by["us-ear"] != domain.HeldForReview || by["cn-import"] != domain.HeldForReview {
		t.Errorf("by jurisdiction: %v", by)
	}
}
