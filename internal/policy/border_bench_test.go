package policy_test

import (
	"testing"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/policy"
)

// BenchmarkDecideExport measures the export decision of an H200 shipment
// to China that every check lets through (license, cap, lab test).
func BenchmarkDecideExport(b *testing.B) {
	p := mustDefault(b)
	h200 := product(b, "h200")
	f := policy.ExportFacts{At: day("2026-02-01"), Product: "h200", Spec: h200.Spec, LaunchDate: h200.LaunchDate, Destination: "CN", Units: 100,
		License:        &policy.BorderGrant{Number: "EL-1", Jurisdiction: "us-ear", Status: domain.GrantActive, Quantity: 1000},
		ExportedRegion: 400, ExportedUS: 1000, LabPassed: true}
	rules := p.At(f.At)
	b.ReportAllocs()
	for b.Loop() {
		if rules.DecideExport(f).Outcome != domain.Accepted {
			b.Fatal("not accepted")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
}

// BenchmarkDecideImport measures Chinese customs' decision on the same
// shipment, its permit with room.
func BenchmarkDecideImport(b *testing.B) {
	p := mustDefault(b)
	f := policy.ImportFacts{At: day("2026-02-01"), Spec: product(b, "h200").Spec, Destination: "CN", Units: 100,
		Permit: &policy.BorderGrant{Number: "IP-1", Jurisdiction: "cn-import", Status: domain.GrantActive, Quantity: 1000}}
	rules := p.At(f.At)
	b.ReportAllocs()
	for b.Loop() {
		if rules.DecideImport(f).Outcome != domain.Accepted {
			b.Fatal("not accepted")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
}

// BenchmarkDecideOrderReleased measures a release: an order held by a red
// flag (us-ear, releasable) decided again with the export authority's
// release.
func BenchmarkDecideOrderReleased(b *testing.B) {
	p := mustDefault(b)
	f := h200CN(b, day("2026-02-01"))
	f.SitePowerKW = 1
	f.Released = []policy.Release{{Jurisdiction: "us-ear", By: "us-commerce"}}
	rules := p.At(f.At)
	if d := rules.DecideOrder(f); d.Outcome != domain.Accepted {
		b.Fatalf("not released: %+v", d.Blocking())
	}
	b.ReportAllocs()
	for b.Loop() {
		rules.DecideOrder(f)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
}

// BenchmarkRedFlagsOf measures vetting one application with two sites and
// two addresses against every red flag.
func BenchmarkRedFlagsOf(b *testing.B) {
	rules := mustDefault(b).At(day("2026-06-01"))
	a := domain.Application{
		LegalName: "Pacific Freight Logistics Ltd.", Country: "SG", ParentCountry: "CN", Registered: "2024-02-01",
		Addresses:    []string{"Room 1203, Apartment 7, Lane 88", "Block A, Zhongguancun Science Park"},
		BusinessType: domain.ClassUniversity, EndUses: []string{"commercial_ai", "research"},
		Sites:   []domain.Site{{Address: "Data Center Road 1", Country: "SG", PowerMW: 10}, {Address: "3rd Floor, Unit 5", Country: "MY", PowerMW: 1}},
		Volumes: map[string]int64{"h200": 100000},
	}
	if n := len(rules.RedFlagsOf(&a)); n < 6 {
		b.Fatalf("%d flags", n)
	}
	b.ReportAllocs()
	for b.Loop() {
		rules.RedFlagsOf(&a)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "applications/s")
}
