package policy_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/catalog"
	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/policy"
	"github.com/chipgate/chipgate/policies"
)

// mustDefault loads the embedded default policy.
func mustDefault(tb testing.TB) *policy.Policy {
	tb.Helper()
	p, err := policy.Load("default.yaml", policies.Default)
	if err != nil {
		tb.Fatalf("load default policy: %v", err)
	}
	return p
}

// mustLoad loads the default policy with text replaced, for variants.
func mustLoad(tb testing.TB, oldNew ...string) *policy.Policy {
	tb.Helper()
	src := string(policies.Default)
	for i := 0; i+1 < len(oldNew); i += 2 {
		if !strings.Contains(src, oldNew[i]) {
			tb.Fatalf("default.yaml has no %q", oldNew[i])
		}
		src = strings.Replace(src, oldNew[i], oldNew[i+1], 1)
	}
	p, err := policy.Load("variant.yaml", []byte(src))
	if err != nil {
		tb.Fatalf("load variant: %v", err)
	}
	return p
}

func product(tb testing.TB, slug string) domain.Product {
	tb.Helper()
	p, err := catalog.Product(slug)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// spec builds a chip with the given TPP (as 8-bit dense TOPS), die area and
// bandwidth. TPPs divisible by 8 keep the arithmetic exact.
func spec(tpp, area float64, bw int) domain.Spec {
	return domain.Spec{
		Throughput:    []domain.Throughput{{Bits: 8, DenseTOPS: tpp / 8}},
		DieAreaMM2:    area,
		MemoryGB:      141,
		BandwidthGBps: bw,
	}
}

// h200CN is an H200 order to China that every rule in force on 2026-02-01
// accepts; each test case breaks one thing.
func h200CN(tb testing.TB, at time.Time) policy.OrderFacts {
	h := product(tb, "h200")
	return policy.OrderFacts{
		At: at, Product: "h200", Spec: h.Spec, LaunchDate: h.LaunchDate, Quantity: 100,
		Destination: "CN", Buyer: "bytedance", BuyerClass: "platform", Sector: "private",
		BuyerHQ: "CN", ParentHQ: "CN",
		Approval: policy.ApprovalApproved, Screening: policy.ScreeningClear,
		EndUse: "commercial_ai", SiteCountry: "CN", CloudService: true, SitePowerKW: 1000,
		KYCRemoteAccess: true,
		ShippedUS:       100_000, ShippedCNMO: 0,
		Licenses: []policy.License{{
			ID: "L-1", Jurisdiction: "us-ear", Status: policy.GrantActive, Products: []string{"h200"}, Destinations: []string{"CN"},
			Remaining: 1000, ValidFrom: day("2026-01-15"), ValidUntil: day("2027-01-15"),
		}},
		Permits: []policy.ImportPermit{{
			ID: "P-1", Jurisdiction: "cn-import", Status: policy.GrantActive, Remaining: 1000, ValidFrom: day("2026-01-28"), ValidUntil: day("2027-01-28"),
		}},
	}
}

// blockedBy reports whether a reason of rule id rejected or held the order.
func blockedBy(d policy.Decision, id string) bool {
	for _, r := range d.Blocking() {
		if r.Rule == id {
			return true
		}
	}
	return false
}

func messages(rs []policy.Reason) string {
	var b strings.Builder
	for _, r := range rs {
		b.WriteString("\n  " + r.Rule + " [" + string(r.Outcome) + "] " + r.Message)
	}
	return b.String()
}
