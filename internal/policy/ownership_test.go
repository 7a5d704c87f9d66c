package policy_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/policy"
	"github.com/chipgate/chipgate/policies"
)

// The affiliates rule's instants (S22).
var (
	affiliatesFrom    = day("2025-09-29")
	suspensionFrom    = day("2025-11-10")
	suspensionUntil   = day("2026-11-09")
	justBefore        = func(t time.Time) time.Time { return t.Add(-time.Nanosecond) }
	pct               = func(p float64) domain.Rate { return domain.Rate(p * domain.RateScale / 100) }
	elOwner, sdnOwner = []string{"EL"}, []string{"SDN"}
)

// usOrder is an H200 order to a US data center that every rule accepts at
// any instant from 2023-11-17: the ownership rules are the only thing the
// cases below change.
func usOrder(tb testing.TB, at time.Time) policy.OrderFacts {
	h := product(tb, "h200")
	return policy.OrderFacts{
		At: at, Product: "h200", Spec: h.Spec, LaunchDate: h.LaunchDate, Quantity: 100,
		Destination: "US", SiteCountry: "US", Buyer: "us-cloud", BuyerClass: "cloud", Sector: "private",
		BuyerHQ: "US", ParentHQ: "US", Screening: policy.ScreeningClear, EndUse: "us_datacenter", SitePowerKW: 1000,
	}
}

// TestAffiliatesThresholdWindow crosses every instant of BIS's affiliates
// rule: in force from 2025-09-29, suspended from 2025-11-10, in force again
// from 2026-11-09. OFAC's 50 percent rule reaches SDN owners throughout.
func TestAffiliatesThresholdWindow(t *testing.T) {
	p := mustDefault(t)
	tests := []struct {
		name      string
		at        time.Time
		bis       bool   // AffiliatesThreshold ok
		version   string // from of the end-user.affiliates version in force, "" for none
		suspended bool
	}{
		{"before the rule", justBefore(affiliatesFrom), false, "", false},
		{"its first instant", affiliatesFrom, true, "2025-09-29", false},
		{"the instant before the suspension", justBefore(suspensionFrom), true, "2025-09-29", false},
		{"the suspension's first instant", suspensionFrom, false, "2025-11-10", true},
		{"2026-06-01", day("2026-06-01"), false, "2025-11-10", true},
		{"the suspension's last instant", justBefore(suspensionUntil), false, "2025-11-10", true},
		{"in force again", suspensionUntil, true, "2026-11-09", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := p.At(tc.at)
			th, ok := r.AffiliatesThreshold()
			if ok != tc.bis || (ok && th != 500_000) {
				t.Errorf("AffiliatesThreshold = %v, %v; want %v", th, ok, tc.bis)
			}
			v, inForce := r.Rule("end-user.affiliates")
			if inForce != (tc.version != "") || (inForce && (v.From.String() != tc.version || v.Kind != policy.KindAffiliates || v.Source != "S22")) {
				t.Errorf("end-user.affiliates in force %v from %s, want from %q", inForce, v.From, tc.version)
			}
			if inForce && v.Params.(*policy.OwnershipParams).Suspended != tc.suspended {
				t.Errorf("suspended %v, want %v", !tc.suspended, tc.suspended)
			}
			for _, list := range []string{"EL", "MEU"} {
				th, rule, ok := r.OwnershipThreshold(list)
				if ok != tc.bis || (ok && (th != 500_000 || rule != "end-user.affiliates")) {
					t.Errorf("OwnershipThreshold(%s) = %v, %s, %v; want %v", list, th, rule, ok, tc.bis)
				}
			}
			if th, rule, ok := r.OwnershipThreshold("SDN"); !ok || th != 500_000 || rule != "end-user.ofac-50" {
				t.Errorf("OwnershipThreshold(SDN) = %v, %s, %v; want 50%% by end-user.ofac-50", th, rule, ok)
			}
			if _, _, ok := r.OwnershipThreshold("DPL"); ok {
				t.Error("an ownership rule reaches the Denied Persons List")
			}
		})
	}
}

// TestOwnershipDecisions decides orders of buyers with listed owners on
// both sides of the threshold, of the affiliates rule's instants, and of
// the lists each rule reaches.
func TestOwnershipDecisions(t *testing.T) {
	p := mustDefault(t)
	inForce, suspended := day("2025-10-15"), day("2026-02-01")
	tests := []struct {
		name   string
		at     time.Time
		owners []policy.ListedOwner
		legacy domain.Rate // ListedOwnership: lists unknown
		want   policy.Outcome
		rule   string // the rule that rejected, or that said it is suspended
		msg    string
	}{
		{"EL owner at 50%, rule in force", inForce, []policy.ListedOwner{{Lists: elOwner, Share: pct(50)}}, 0, policy.Rejected, "end-user.affiliates", "owned 50% by parties on EL, MEU ≥ 50%: treated as listed"},
		{"EL owner just under 50%", inForce, []policy.ListedOwner{{Lists: elOwner, Share: pct(50) - 1}}, 0, policy.Accepted, "", ""},
		{"MEU owners 30% + 20% in aggregate", inForce, []policy.ListedOwner{{Lists: []string{"MEU"}, Share: pct(30)}, {Lists: elOwner, Share: pct(20)}}, 0, policy.Rejected, "end-user.affiliates", "owned 50% by parties on EL, MEU"},
		{"EL owner at 50%, the instant before the rule", justBefore(affiliatesFrom), []policy.ListedOwner{{Lists: elOwner, Share: pct(50)}}, 0, policy.Accepted, "", ""},
		{"EL owner at 60% during the suspension", suspended, []policy.ListedOwner{{Lists: elOwner, Share: pct(60)}}, 0, policy.Accepted, "end-user.affiliates", "owned 60% by parties on EL, MEU ≥ 50%, but the rule is suspended from 2025-11-10 until 2026-11-09"},
		{"EL owner at 60%, the suspension's first instant", suspensionFrom, []policy.ListedOwner{{Lists: elOwner, Share: pct(60)}}, 0, policy.Accepted, "end-user.affiliates", "suspended"},
		{"EL owner at 60%, the instant before it ends", justBefore(suspensionUntil), []policy.ListedOwner{{Lists: elOwner, Share: pct(60)}}, 0, policy.Accepted, "end-user.affiliates", "suspended"},
		{"EL owner at 60%, in force again", suspensionUntil, []policy.ListedOwner{{Lists: elOwner, Share: pct(60)}}, 0, policy.Rejected, "end-user.affiliates", "treated as listed"},
		{"SDN owner at 50% during the suspension", suspended, []policy.ListedOwner{{Lists: sdnOwner, Share: pct(50)}}, 0, policy.Rejected, "end-user.ofac-50", "owned 50% by parties on SDN ≥ 50%: treated as listed"},
		{"SDN owners 25% + 25%", suspended, []policy.ListedOwner{{Lists: sdnOwner, Share: pct(25)}, {Lists: sdnOwner, Share: pct(25)}}, 0, policy.Rejected, "end-user.ofac-50", "owned 50% by parties on SDN"},
		{"SDN owner just under 50%", suspended, []policy.ListedOwner{{Lists: sdnOwner, Share: pct(50) - 1}}, 0, policy.Accepted, "", ""},
		{"SDN 30% + EL 30%: neither rule's lists reach 50%", inForce, []policy.ListedOwner{{Lists: sdnOwner, Share: pct(30)}, {Lists: elOwner, Share: pct(30)}}, 0, policy.Accepted, "", ""},
		{"an owner on SDN and EL at 50%", inForce, []policy.ListedOwner{{Lists: []string{"SDN", "EL"}, Share: pct(50)}}, 0, policy.Rejected, "end-user.ofac-50", "on SDN"},
		{"a DPL owner at 100%", inForce, []policy.ListedOwner{{Lists: []string{"DPL"}, Share: pct(100)}}, 0, policy.Accepted, "", ""},
		{"listed owners of unknown lists at 50%, suspension", suspended, nil, pct(50), policy.Rejected, "end-user.ofac-50", "owned 50% by listed parties ≥ 50%: treated as listed"},
		{"listed owners of unknown lists just under 50%", inForce, nil, pct(50) - 1, policy.Accepted, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := usOrder(t, tc.at)
			f.ListedOwners, f.ListedOwnership = tc.owners, tc.legacy
			d := p.DecideOrder(f)
			if d.Outcome != tc.want {
				t.Fatalf("outcome %s, want %s:%s", d.Outcome, tc.want, messages(d.Reasons))
			}
			found := tc.rule == ""
			for _, r := range d.Reasons {
				if r.Rule == tc.rule && strings.Contains(r.Message, tc.msg) {
					found = true
				}
				if tc.rule == "" && (r.Rule == "end-user.affiliates" || r.Rule == "end-user.ofac-50") {
					t.Errorf("a reason from %s: %s", r.Rule, r.Message)
				}
			}
			if !found {
				t.Errorf("no reason from %s with %q:%s", tc.rule, tc.msg, messages(d.Reasons))
			}
			if tc.want == policy.Accepted && len(d.Blocking()) > 0 {
				t.Errorf("accepted with blocking reasons:%s", messages(d.Blocking()))
			}
		})
	}
}

// TestOwnershipRulesRefused: the affiliates threshold inside end_user is
// gone, with what to write; the ownership kinds check their values.
func TestOwnershipRulesRefused(t *testing.T) {
	tests := []struct {
		name, old, new string
		want           string
	}{
		{"affiliates_threshold in end_user", "      on_pending: held_for_review\n", "      on_pending: held_for_review\n      affiliates_threshold: \"50%\"\n",
			"rule end-user.listed: affiliates_threshold is no longer read: the affiliates (50%) rule is a rule of its own"},
		{"list in lower case", "affiliates: {lists: [EL, MEU], threshold: \"50%\", on_owned: rejected}", "affiliates: {lists: [el], threshold: \"50%\", on_owned: rejected}",
			`rule end-user.affiliates: lists: "el": want a list's short code`},
		{"no lists", "blocked_ownership: {lists: [SDN],", "blocked_ownership: {lists: [],", "rule end-user.ofac-50: lists: at least one list required"},
		{"zero threshold", "blocked_ownership: {lists: [SDN], threshold: \"50%\"", "blocked_ownership: {lists: [SDN], threshold: \"0%\"", "rule end-user.ofac-50: threshold: must be above 0%"},
		{"bad outcome", "blocked_ownership: {lists: [SDN], threshold: \"50%\", on_owned: rejected}", "blocked_ownership: {lists: [SDN], threshold: \"50%\", on_owned: frowned_upon}", "rule end-user.ofac-50: on_owned"},
		{"a second affiliates id", "  - id: end-user.ofac-50\n    jurisdiction: us-ofac\n    source: S5\n    from: 2023-11-17\n",
			"  - id: end-user.bis-50\n    jurisdiction: us-ear\n    source: S22\n    from: 2023-11-17\n    affiliates: {lists: [EL], threshold: \"50%\", on_owned: rejected}\n  - id: end-user.ofac-50\n    jurisdiction: us-ofac\n    source: S5\n    from: 2023-11-17\n",
			"rule end-user.bis-50: a second affiliates rule"},
		{"the suspension leaves a gap", "    from: 2025-11-10\n    until: 2026-11-09\n", "    from: 2025-11-11\n    until: 2026-11-09\n", "rule end-user.affiliates: gap in effective dates: nothing in force from 2025-11-10"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := string(policies.Default)
			if !strings.Contains(src, tc.old) {
				t.Fatalf("default.yaml has no %q", tc.old)
			}
			_, err := policy.Load("bad.yaml", []byte(strings.Replace(src, tc.old, tc.new, 1)))
			var le *policy.LoadError
			if !errors.As(err, &le) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error\n%v\nlacks %q", err, tc.want)
			}
			for _, pr := range le.Problems {
				if pr.Line == 0 {
					t.Errorf("problem without a line: %s", pr)
				}
			}
		})
	}
}
