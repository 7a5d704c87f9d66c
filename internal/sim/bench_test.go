package sim_test

import (
	"testing"

	"github.com/chipgate/chipgate/internal/sim"
)

// BenchmarkYear runs the benchmark scenario (1,000,000 units of supply,
// 500 buyers, about 18,000 orders over 52 weeks): one variant, and all six
// with as many running at once as GOMAXPROCS allows.
func BenchmarkYear(b *testing.B) {
	for _, bc := range []struct {
		name     string
		variants int // 0: all
	}{{"variants=1", 1}, {"variants=6", 0}} {
		b.Run(bc.name, func(b *testing.B) {
			s := mustLoad(b, "../../scenarios/bench-1m-500.yaml")
			if bc.variants > 0 {
				s.Variants = s.Variants[:bc.variants]
			}
			b.ReportAllocs()
			for b.Loop() {
				r := mustRun(b, s, sim.Options{})
				if r.Variants[0].Totals.ShippedUnits["US"] == 0 {
					b.Fatal("nothing shipped")
				}
			}
		})
	}
}
