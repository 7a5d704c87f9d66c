package policy_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/policy"
	"github.com/chipgate/chipgate/policies"
)

func TestDecideOrder(t *testing.T) {
	p := mustDefault(t)
	feb := day("2026-02-01")
	mustCond := func(expr string) policy.Condition {
		c, err := p.CompileCondition(expr)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	tests := []struct {
		name   string
		at     time.Time
		change func(f *policy.OrderFacts)
		want   policy.Outcome
		rule   string // the rule that rejected or held the order; "" when accepted
		msg    string // a fragment of that rule's message
	}{
		{"accepted", feb, nil, policy.Accepted, "", ""},

		// The CN program's effective date.
		{"H200 on 2026-01-14: presumption of denial", day("2026-01-14"), nil, policy.Rejected, "dest.cn-mo", "presumption of denial"},
		{"H200 on 2026-01-15: CN customs admit none yet", day("2026-01-15"), nil, policy.HeldForReview, "cn.import-permit", "customs admit no"},
		{"H200 on 2026-01-27: CN customs admit none yet", day("2026-01-27"), nil, policy.HeldForReview, "cn.import-permit", "customs admit no"},
		{"H200 on 2026-01-28: permits issued", day("2026-01-28"), nil, policy.Accepted, "", ""},
		{"B200 denied", feb, func(f *policy.OrderFacts) {
			f.Product, f.Spec = "b200", product(t, "b200").Spec
			f.Licenses[0].Products = []string{"b200"}
		}, policy.Rejected, "dest.cn-mo", "TPP 36,000 ≥ 21,000"},
		{"TPP just below 21,000", feb, func(f *policy.OrderFacts) { f.Spec = spec(20992, 1000, 4800) }, policy.Accepted, "", ""},
		{"TPP at 21,000", feb, func(f *policy.OrderFacts) { f.Spec = spec(21000, 1000, 4800) }, policy.Rejected, "dest.cn-mo", "TPP 21,000 ≥ 21,000"},
		{"bandwidth at 6,500", feb, func(f *policy.OrderFacts) { f.Spec.BandwidthGBps = 6500 }, policy.Rejected, "dest.cn-mo", "bandwidth 6,500 ≥ 6,500 GB/s"},
		{"launched after 2026-01-15", feb, func(f *policy.OrderFacts) { f.LaunchDate = day("2026-01-16") }, policy.Rejected, "dest.cn-mo", "after 2026-01-15"},

		// The license.
		{"no license", feb, func(f *policy.OrderFacts) { f.Licenses = nil }, policy.HeldForReview, "dest.cn-mo", "no license on file"},
		{"license revoked", feb, func(f *policy.OrderFacts) { f.Licenses[0].Status = policy.GrantRevoked }, policy.Rejected, "dest.cn-mo", "license L-1 is revoked"},
		{"license expired the instant before", feb, func(f *policy.OrderFacts) { f.Licenses[0].ValidUntil = feb }, policy.Rejected, "dest.cn-mo", "not valid on 2026-02-01"},
		{"license valid from the order's instant", feb, func(f *policy.OrderFacts) { f.Licenses[0].ValidFrom = feb }, policy.Accepted, "", ""},
		{"license for another product", feb, func(f *policy.OrderFacts) { f.Licenses[0].Products = []string{"h20"} }, policy.Rejected, "dest.cn-mo", "does not cover product h200"},
		{"license for another destination", feb, func(f *policy.OrderFacts) { f.Licenses[0].Destinations = []string{"MO"} }, policy.Rejected, "dest.cn-mo", "does not cover destination CN"},
		{"license remaining one short", feb, func(f *policy.OrderFacts) { f.Licenses[0].Remaining = 99 }, policy.Rejected, "dest.cn-mo", "quantity 100 > license L-1 remaining 99"},
		{"license remaining exactly enough", feb, func(f *policy.OrderFacts) { f.Licenses[0].Remaining = 100 }, policy.Accepted, "", ""},
		{"license condition holds", feb, func(f *policy.OrderFacts) {
			f.Licenses[0].Conditions = []policy.Condition{mustCond(`site_country == "CN" && quantity <= 500`)}
		}, policy.Accepted, "", ""},
		{"license condition fails", feb, func(f *policy.OrderFacts) {
			f.Licenses[0].Conditions = []policy.Condition{mustCond(`quantity <= 50`)}
		}, policy.Rejected, "dest.cn-mo", "condition not met: quantity <= 50"},

		// Buyers.
		{"buyer approval pending", feb, func(f *policy.OrderFacts) { f.Approval = policy.ApprovalPending }, policy.HeldForReview, "customer.approved", "not approved yet"},
		{"buyer approval revoked", feb, func(f *policy.OrderFacts) { f.Approval = policy.ApprovalRevoked }, policy.Rejected, "customer.approved", "approval is revoked"},
		{"buyer on a list", feb, func(f *policy.OrderFacts) { f.Screening = policy.ScreeningMatch }, policy.Rejected, "end-user.listed", "matches a restricted-party list"},
		{"buyer a potential match", feb, func(f *policy.OrderFacts) { f.Screening = policy.ScreeningPotentialMatch }, policy.HeldForReview, "end-user.listed", "potential match"},
		{"buyer not screened", feb, func(f *policy.OrderFacts) { f.Screening = policy.ScreeningPending }, policy.HeldForReview, "end-user.listed", "not screened"},
		{"owned 50% by listed parties", feb, func(f *policy.OrderFacts) { f.ListedOwnership = 500_000 }, policy.Rejected, "end-user.ofac-50", "owned 50% by listed parties ≥ 50%"},
		{"owned just under 50% by listed parties", feb, func(f *policy.OrderFacts) { f.ListedOwnership = 499_999 }, policy.Accepted, "", ""},
		{"military end use", feb, func(f *policy.OrderFacts) { f.EndUse = "military" }, policy.Rejected, "end-use.prohibited", "end use military is prohibited"},
		{"surveillance end use", feb, func(f *policy.OrderFacts) { f.EndUse = "surveillance" }, policy.Rejected, "end-use.prohibited", "surveillance"},
		{"no KYC against remote access", feb, func(f *policy.OrderFacts) { f.KYCRemoteAccess = false }, policy.HeldForReview, "customer.kyc-remote-access", "remote access"},

		// Volumes and shipping.
		{"CN+MO exactly 50% of US", feb, func(f *policy.OrderFacts) { f.ShippedUS, f.ShippedCNMO = 1000, 400 }, policy.Accepted, "", ""},
		{"CN+MO one unit over 50% of US", feb, func(f *policy.OrderFacts) { f.ShippedUS, f.ShippedCNMO = 1000, 401 }, policy.HeldForReview, "volume.cn-mo-cap", "CN units 501 (shipped 401 + ordered 100) > 50% of US end-user units 1,000 = 500"},
		{"nothing shipped to the US yet", feb, func(f *policy.OrderFacts) { f.ShippedUS = 0 }, policy.HeldForReview, "volume.cn-mo-cap", "> 50%"},
		{"re-export from abroad", feb, func(f *policy.OrderFacts) { f.ReExport = true }, policy.Rejected, "reexport.denied", "presumption of denial"},
		{"shipped from Singapore", feb, func(f *policy.OrderFacts) { f.ShipFrom = "SG" }, policy.Rejected, "reexport.denied", "shipped from SG: exports to CN leave from US"},
		{"shipped from the US", feb, func(f *policy.OrderFacts) { f.ShipFrom = "US" }, policy.Accepted, "", ""},
		{"site power short", feb, func(f *policy.OrderFacts) { f.SitePowerKW = 119.9 }, policy.HeldForReview, "vetting.red-flags", "site power 119.9 kW < 1.2 kW × 100 units = 120 kW"},
		{"site power exactly enough", feb, func(f *policy.OrderFacts) { f.SitePowerKW = 120 }, policy.Accepted, "", ""},

		// China's import side.
		{"no import permit", feb, func(f *policy.OrderFacts) { f.Permits = nil }, policy.HeldForReview, "cn.import-permit", "import permit required"},
		{"state-owned buyer", feb, func(f *policy.OrderFacts) { f.Sector = "soe" }, policy.Rejected, "cn.import-permit", "sector soe is excluded"},
		{"critical-infrastructure buyer", feb, func(f *policy.OrderFacts) { f.Sector = "critical_infrastructure" }, policy.Rejected, "cn.import-permit", "excluded"},
		{"permit remaining one short", feb, func(f *policy.OrderFacts) { f.Permits[0].Remaining = 99 }, policy.Rejected, "cn.import-permit", "quantity 100 > import permit P-1 remaining 99"},
		{"permit not yet valid", feb, func(f *policy.OrderFacts) { f.Permits[0].ValidFrom = day("2026-02-02") }, policy.Rejected, "cn.import-permit", "not valid on 2026-02-01"},
		{"permit cloud only, on-premises site", feb, func(f *policy.OrderFacts) { f.Permits[0].CloudOnly, f.CloudService = true, false }, policy.Rejected, "cn.import-permit", "only cloud-service"},
		{"permit use not allowed", feb, func(f *policy.OrderFacts) { f.Permits[0].AllowedUses = []string{"research"} }, policy.Rejected, "cn.import-permit", "does not allow end use commercial_ai"},
		{"permit condition fails", feb, func(f *policy.OrderFacts) {
			f.Permits[0].Conditions = []policy.Condition{mustCond(`buyer_class != "platform"`)}
		}, policy.Rejected, "cn.import-permit", "condition not met"},

		// Other destinations and items.
		// The H20 is EAR99 by its TPP, but an is-informed letter (S21) needs
		// a license to China from 2025-04-09.
		{"H20 to CN needs a license by letter", feb, func(f *policy.OrderFacts) {
			f.Product, f.Spec, f.Licenses, f.Permits, f.Approval, f.KYCRemoteAccess, f.SitePowerKW = "h20", product(t, "h20").Spec, nil, nil, "", false, 0
		}, policy.HeldForReview, "letter.h20", "no license on file"},
		{"H20 to CN with a license", feb, func(f *policy.OrderFacts) {
			f.Product, f.Spec, f.Permits, f.Approval, f.KYCRemoteAccess, f.SitePowerKW = "h20", product(t, "h20").Spec, nil, "", false, 0
			f.Licenses[0].Products = []string{"h20"}
		}, policy.Accepted, "", ""},
		{"H20 to CN the day before the letter", day("2025-04-08"), func(f *policy.OrderFacts) {
			f.Product, f.Spec, f.Licenses, f.Permits, f.Approval, f.KYCRemoteAccess, f.SitePowerKW = "h20", product(t, "h20").Spec, nil, nil, "", false, 0
		}, policy.Accepted, "", ""},
		{"H20 for military use", feb, func(f *policy.OrderFacts) { f.Product, f.Spec, f.EndUse = "h20", product(t, "h20").Spec, "military" }, policy.Rejected, "end-use.prohibited", "military"},
		{"H200 to the US needs no license", feb, func(f *policy.OrderFacts) {
			f.Destination, f.SiteCountry, f.Licenses, f.Permits, f.Approval, f.BuyerHQ, f.ParentHQ = "US", "US", nil, nil, "", "US", "US"
		}, policy.Accepted, "", ""},
		// A Chinese parent: presumption of denial wherever the buyer is,
		// from 2023-11-17 (S16, S17), outside China, Macau and Hong Kong.
		{"H200 to Malaysia, CN parent, 2026-02-01", feb, func(f *policy.OrderFacts) {
			f.Destination, f.SiteCountry, f.Licenses, f.Permits, f.BuyerHQ = "MY", "MY", nil, nil, "MY"
		}, policy.Rejected, "end-user.parent-d5", "headquartered in CN: presumption of denial"},
		{"H200 to Malaysia, CN parent, 2023-11-17", day("2023-11-17"), func(f *policy.OrderFacts) {
			f.Destination, f.SiteCountry, f.Licenses, f.Permits, f.BuyerHQ = "MY", "MY", nil, nil, "MY"
		}, policy.Rejected, "end-user.parent-d5", "presumption of denial"},
		{"H200 to Malaysia, MY parent", feb, func(f *policy.OrderFacts) {
			f.Destination, f.SiteCountry, f.Licenses, f.Permits, f.BuyerHQ, f.ParentHQ = "MY", "MY", nil, nil, "MY", "MY"
		}, policy.Accepted, "", ""},
		{"H200 to a US site, CN parent", feb, func(f *policy.OrderFacts) {
			f.Destination, f.SiteCountry, f.Licenses, f.Permits, f.Approval = "US", "US", nil, nil, ""
		}, policy.Accepted, "", ""},
		{"H200 to Russia is denied", feb, func(f *policy.OrderFacts) {
			f.Destination, f.SiteCountry, f.Licenses, f.Permits, f.BuyerHQ, f.ParentHQ = "RU", "RU", nil, nil, "RU", "RU"
		}, policy.Rejected, "dest.d5", "presumption of denial"},
		{"H200 to Hong Kong needs a license (S14)", feb, func(f *policy.OrderFacts) {
			f.Destination, f.SiteCountry, f.Licenses, f.Permits, f.BuyerHQ, f.ParentHQ = "HK", "HK", nil, nil, "HK", "HK"
		}, policy.HeldForReview, "dest.cn-mo", "no license on file"},
		{"H200 to Hong Kong needs no Chinese import permit", feb, func(f *policy.OrderFacts) {
			f.Destination, f.SiteCountry, f.Permits, f.BuyerHQ, f.ParentHQ = "HK", "HK", nil, "HK", "HK"
			f.Licenses[0].Destinations = []string{"HK"}
		}, policy.Accepted, "", ""},
		{"H200 to Vietnam (D:1) needs a license", feb, func(f *policy.OrderFacts) {
			f.Destination, f.SiteCountry, f.Licenses, f.Permits, f.BuyerHQ, f.ParentHQ = "VN", "VN", nil, nil, "VN", "VN"
		}, policy.HeldForReview, "dest.d1-d4", "no license on file"},
		{"H200 to Saudi Arabia (D:4) needs a license", feb, func(f *policy.OrderFacts) {
			f.Destination, f.SiteCountry, f.Licenses, f.Permits, f.BuyerHQ, f.ParentHQ = "SA", "SA", nil, nil, "SA", "SA"
		}, policy.HeldForReview, "dest.d1-d4", "no license on file"},
		{"H200 to the UAE before it joined A:5", day("2026-07-09"), func(f *policy.OrderFacts) {
			f.Destination, f.SiteCountry, f.Licenses, f.Permits, f.BuyerHQ, f.ParentHQ = "AE", "AE", nil, nil, "AE", "AE"
		}, policy.HeldForReview, "dest.d1-d4", "no license on file"},
		{"H200 to the UAE once in A:5 (2026-07-10)", day("2026-07-10"), func(f *policy.OrderFacts) {
			f.Destination, f.SiteCountry, f.Licenses, f.Permits, f.BuyerHQ, f.ParentHQ = "AE", "AE", nil, nil, "AE", "AE"
		}, policy.Accepted, "", ""},
		{"H200 to Israel (D:4 and A:6) needs none", feb, func(f *policy.OrderFacts) {
			f.Destination, f.SiteCountry, f.Licenses, f.Permits, f.BuyerHQ, f.ParentHQ = "IL", "IL", nil, nil, "IL", "IL"
		}, policy.Accepted, "", ""},
		{"zero quantity", feb, func(f *policy.OrderFacts) { f.Quantity = 0 }, policy.Rejected, "", "must be positive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := h200CN(t, tc.at)
			if tc.change != nil {
				tc.change(&f)
			}
			d := p.DecideOrder(f)
			if d.Outcome != tc.want {
				t.Fatalf("outcome %s, want %s:%s", d.Outcome, tc.want, messages(d.Reasons))
			}
			if tc.want == policy.Accepted {
				if b := d.Blocking(); len(b) > 0 {
					t.Fatalf("accepted with blocking reasons:%s", messages(b))
				}
				return
			}
			found := false
			for _, r := range d.Blocking() {
				if r.Rule == tc.rule && strings.Contains(r.Message, tc.msg) {
					found = true
				}
			}
			if !found {
				t.Fatalf("no blocking reason from rule %q containing %q:%s", tc.rule, tc.msg, messages(d.Reasons))
			}
		})
	}
}

func TestAcceptedOrderCarriesObligationsAndDuty(t *testing.T) {
	d := mustDefault(t).DecideOrder(h200CN(t, day("2026-02-01")))
	if d.Outcome != policy.Accepted || d.ECCN != "3A090.a" || d.Region != "CN" || d.Status != policy.LicenseRequired {
		t.Fatalf("decision %+v", d)
	}
	obl := messages(d.Obligations)
	for _, want := range []string{"shipment.lab-test", "independent lab in US", "shipment.route", "route TW → US → CN"} {
		if !strings.Contains(obl, want) {
			t.Errorf("obligations %s lack %q", obl, want)
		}
	}
	if d.Duty == nil || d.Duty.Rule != "duty.section-232" || d.Duty.Rate != 250_000 || d.Duty.Exempt {
		t.Fatalf("duty %+v", d.Duty)
	}
	if !strings.Contains(messages(d.Reasons), "license L-1 covers 100 of remaining 1,000 h200 to CN") {
		t.Errorf("reasons lack the license basis:%s", messages(d.Reasons))
	}
	if got := d.Rules(); len(got) == 0 || got[0] != "dest.cn-mo" {
		t.Errorf("Rules() = %v", got)
	}
}

// TestDecisionSaysWhichGrantsItUses: an H200 order to China needs the export
// license and the import permit; the same order to a US site needs neither,
// however many grants the buyer holds.
func TestDecisionSaysWhichGrantsItUses(t *testing.T) {
	rules := mustDefault(t)
	cn := rules.DecideOrder(h200CN(t, day("2026-02-01")))
	if !cn.UsesLicense || !cn.UsesPermit {
		t.Fatalf("CN order: uses license %v, permit %v; want both", cn.UsesLicense, cn.UsesPermit)
	}
	f := h200CN(t, day("2026-02-01"))
	f.Destination, f.SiteCountry, f.BuyerHQ, f.ParentHQ, f.Buyer = "US", "US", "US", "US", "us-cloud-a"
	us := rules.DecideOrder(f)
	if us.Outcome != policy.Accepted || us.UsesLicense || us.UsesPermit {
		t.Fatalf("US order: %s, uses license %v, permit %v; want accepted using neither", us.Outcome, us.UsesLicense, us.UsesPermit)
	}
}

func TestDecisionJSON(t *testing.T) {
	f := h200CN(t, day("2026-02-01"))
	f.EndUse = "military"
	b, err := json.Marshal(mustDefault(t).DecideOrder(f))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Outcome string `json:"outcome"`
		Reasons []struct {
			Rule, Source, Outcome, Message string
		} `json:"reasons"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range got.Reasons {
		if r.Rule == "end-use.prohibited" && r.Source == "S5" && r.Outcome == "rejected" {
			found = true
		}
	}
	if got.Outcome != "rejected" || !found {
		t.Fatalf("JSON %s", b)
	}
}

func TestLotAge(t *testing.T) {
	p := mustLoad(t, "min_days: 0", "min_days: 180")
	tests := []struct {
		assigned bool
		age      int
		want     policy.Outcome
	}{
		{false, 0, policy.Accepted},
		{true, 179, policy.HeldForReview},
		{true, 180, policy.Accepted},
	}
	for _, tc := range tests {
		f := h200CN(t, day("2026-02-01"))
		f.LotAssigned, f.LotAgeDays = tc.assigned, tc.age
		d := p.DecideOrder(f)
		if d.Outcome != tc.want || (tc.want != policy.Accepted && !blockedBy(d, "lot-age.cn")) {
			t.Errorf("lot assigned %v age %d: %s, want %s:%s", tc.assigned, tc.age, d.Outcome, tc.want, messages(d.Reasons))
		}
	}
	if got := p.At(day("2026-02-01")).MinLotAgeDays("CN"); got != 180 {
		t.Errorf("MinLotAgeDays(CN) = %d", got)
	}
	if got := p.At(day("2026-02-01")).MinLotAgeDays("US"); got != 0 {
		t.Errorf("MinLotAgeDays(US) = %d", got)
	}
}

func TestImportSideOptions(t *testing.T) {
	p := mustLoad(t, "      cloud_only: false", "      cloud_only: true\n      domestic_ratio_min: \"30%\"")
	tests := []struct {
		name     string
		cloud    bool
		domestic domain.Rate
		want     policy.Outcome
		msg      string
	}{
		{"cloud with 30% domestic", true, 300_000, policy.Accepted, ""},
		{"on-premises", false, 300_000, policy.Rejected, "only for chips offered as a cloud service"},
		{"domestic ratio just short", true, 299_999, policy.Rejected, "domestic-chip ratio 29.9999% < 30%"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := h200CN(t, day("2026-02-01"))
			f.CloudService, f.DomesticChipRatio = tc.cloud, tc.domestic
			d := p.DecideOrder(f)
			if d.Outcome != tc.want || !strings.Contains(messages(d.Reasons), tc.msg) {
				t.Fatalf("%s, want %s with %q:%s", d.Outcome, tc.want, tc.msg, messages(d.Reasons))
			}
		})
	}
}

func TestCompileCondition(t *testing.T) {
	tests := []struct {
		expr string
		ok   bool
	}{
		{`end_use != "surveillance" && site_country == "CN"`, true},
		{`quantity <= 1000 && tpp < 21000.0`, true},
		{`now < timestamp("2027-01-01T00:00:00Z")`, true},
		{`quantity`, false},      // not a bool
		{`quantitty < 5`, false}, // unknown name
		{`end_use == 3`, false},  // string compared with int
		{`quantity <`, false},    // syntax
		{``, false},              // empty
		{`tpp < 21000`, false},   // double compared with int: CEL has no implicit conversion
		{`end_use.startsWith("commercial") && buyer.contains("-") && size(destination) == 2`, true},
		{`[1, 2, 3].exists(x, x == quantity)`, true},
		// Nested comprehensions over literal lists: cheap to type, ruinous
		// to evaluate for every order.
		{`[` + strings.Repeat("0,", 99) + `0].all(a, [` + strings.Repeat("0,", 99) + `0].all(b, [` + strings.Repeat("0,", 99) + `0].all(c, a + b + c >= 0)))`, false},
		{`quantity > 0 || ` + strings.Repeat(`end_use == "x" || `, 150) + `false`, false}, // over MaxExprBytes
	}
	for _, tc := range tests {
		c, err := policy.CompileCondition(tc.expr)
		if (err == nil) != tc.ok {
			t.Errorf("CompileCondition(%q) error %v, want ok=%v", tc.expr, err, tc.ok)
		}
		if err == nil && c.String() != tc.expr {
			t.Errorf("String() = %q", c.String())
		}
	}
}

// TestDecisionsRepeatable decides many different orders twice, from several
// goroutines: remembered texts and recycled scratch space must never make a
// decision differ from a fresh one.
func TestDecisionsRepeatable(t *testing.T) {
	p := mustDefault(t)
	fresh := make([]policy.Decision, 300)
	facts := make([]policy.OrderFacts, 300)
	for i := range facts {
		f := h200CN(t, day("2026-02-01"))
		f.Spec = spec(float64(14000+8*i), 814, 4500+i)
		f.Quantity = int64(1 + i%150)
		f.EndUse = []string{"commercial_ai", "research", "military"}[i%3]
		facts[i] = f
		fresh[i] = mustDefault(t).DecideOrder(f)
	}
	done := make(chan error, 4)
	for g := 0; g < 4; g++ {
		go func() {
			for round := 0; round < 3; round++ {
				for i := range facts {
					got, _ := json.Marshal(p.DecideOrder(facts[i]))
					want, _ := json.Marshal(fresh[i])
					if string(got) != string(want) {
						done <- fmt.Errorf("order %d differs:\n got %s\nwant %s", i, got, want)
						return
					}
				}
			}
			done <- nil
		}()
	}
	for g := 0; g < 4; g++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// celCheck is a CEL rule added to the default policy for the tests: the
// default file itself has no check rule.
const celCheck = `
  - id: check.large-order
    source: S5
    jurisdiction: us-ear
    from: 2026-01-15
    check:
      if: 'quantity > 10000 && region == "CN"'
      outcome: held_for_review
      message: an unusually large order to China
`

func TestCELCheckRule(t *testing.T) {
	p, err := policy.Load("check.yaml", append(append([]byte{}, policies.Default...), celCheck...))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		qty  int64
		at   string
		want policy.Outcome
	}{
		{10000, "2026-02-01", policy.Accepted},
		{10001, "2026-02-01", policy.HeldForReview},
	}
	for _, tc := range tests {
		f := h200CN(t, day(tc.at))
		f.Quantity, f.Licenses[0].Remaining, f.Permits[0].Remaining, f.ShippedUS, f.SitePowerKW = tc.qty, 1e6, 1e6, 1e6, 1e6
		d := p.DecideOrder(f)
		if d.Outcome != tc.want || (tc.want != policy.Accepted && !blockedBy(d, "check.large-order")) {
			t.Errorf("quantity %d: %s, want %s:%s", tc.qty, d.Outcome, tc.want, messages(d.Reasons))
		}
	}
}

// TestConditionSeesEveryFact evaluates a license condition over each CEL
// name against the facts of h200CN: every name resolves, to the right value.
func TestConditionSeesEveryFact(t *testing.T) {
	p := mustDefault(t)
	exprs := []string{
		`now == timestamp("2026-02-01T00:00:00Z")`,
		`product == "h200"`, `eccn == "3A090.a"`, `tpp == 15832.0`, `pd > 19.4 && pd < 19.5`,
		`bandwidth_gbps == 4800`, `memory_gb == 141`, `launch_date == timestamp("2024-06-01T00:00:00Z")`,
		`quantity == 100`, `destination == "CN"`, `region == "CN"`, `ship_from == ""`, `!reexport`,
		`buyer == "bytedance"`, `buyer_class == "platform"`, `sector == "private"`, `parent_hq == "CN"`,
		`approval == "approved"`, `screening == "clear"`, `end_use == "commercial_ai"`, `site_country == "CN"`,
		`cloud`, `site_power_kw == 1000.0`, `kyc_remote_access`, `domestic_ratio == 0.25`, `lot_age_days == -1`,
		`shipped_cn_mo == 0`, `shipped_us == 100000`,
	}
	for _, expr := range exprs {
		c, err := p.CompileCondition(expr)
		if err != nil {
			t.Errorf("%s: %v", expr, err)
			continue
		}
		f := h200CN(t, day("2026-02-01"))
		f.DomesticChipRatio = 250_000
		f.Licenses[0].Conditions = []policy.Condition{c}
		if d := p.DecideOrder(f); d.Outcome != policy.Accepted {
			t.Errorf("%s: %s:%s", expr, d.Outcome, messages(d.Reasons))
		}
	}
	// And a false one is reported with the license and its expression.
	c, _ := p.CompileCondition(`now < timestamp("2026-01-31T00:00:00Z")`)
	f := h200CN(t, day("2026-02-01"))
	f.Licenses[0].Conditions = []policy.Condition{c}
	d := p.DecideOrder(f)
	if d.Outcome != policy.Rejected || !strings.Contains(messages(d.Blocking()), "license L-1 condition not met: now < timestamp") || d.Blocking()[0].Ref != "L-1" {
		t.Errorf("false condition: %s:%s", d.Outcome, messages(d.Reasons))
	}
}

func TestObligationsPerDestination(t *testing.T) {
	p := mustDefault(t)
	for _, dest := range []string{"CN", "MO", "CN"} {
		f := h200CN(t, day("2026-02-01"))
		f.Destination, f.SiteCountry, f.Licenses[0].Destinations = dest, dest, []string{dest}
		d := p.DecideOrder(f)
		if d.Outcome != policy.Accepted || !strings.Contains(messages(d.Obligations), "route TW → US → "+dest) {
			t.Errorf("%s: %s, obligations:%s", dest, d.Outcome, messages(d.Obligations))
		}
	}
	f := h200CN(t, day("2026-02-01"))
	f.Destination, f.SiteCountry, f.Licenses, f.Permits = "US", "US", nil, nil
	if d := p.DecideOrder(f); len(d.Obligations) != 0 {
		t.Errorf("US order obligations:%s", messages(d.Obligations))
	}
}
