package screening_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/screening"
)

// BenchmarkLoadAll measures loading and indexing every file in
// ../shared/data/lists (the target: ≤ 1 s).
func BenchmarkLoadAll(b *testing.B) {
	dir := fullListsDir(b)
	b.ReportAllocs()
	for b.Loop() {
		ds, err := screening.LoadDir(dir)
		if err != nil {
			b.Fatal(err)
		}
		screening.NewIndex(ds.Entities)
	}
}

// BenchmarkLoadOnly measures parsing and folding every file, without the index.
func BenchmarkLoadOnly(b *testing.B) {
	dir := fullListsDir(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := screening.LoadDir(dir); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNewIndex measures index construction over every file's entities.
func BenchmarkNewIndex(b *testing.B) {
	ds, _ := mustLoadFull(b)
	b.ReportAllocs()
	for b.Loop() {
		screening.NewIndex(ds.Entities)
	}
}

// BenchmarkParse measures each parser on its real file.
func BenchmarkParse(b *testing.B) {
	dir := fullListsDir(b)
	read := func(p string) []byte {
		data, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			b.Skip(err)
		}
		return data
	}
	cases := []struct {
		name string
		file string
		fn   func([]byte) (int, error)
	}{
		{"OFACLegacy/sdn_2021-07", "ofac_sdn_2021-07/sdn.csv", func(d []byte) (int, error) {
			e, _ := screening.ParseOFACLegacy(screening.OFACLegacy{List: "SDN", Primary: bytes.NewReader(d), PrimaryName: "sdn.csv"})
			return len(e), nil
		}},
		{"OFACLegacy/alt_2025-12", "ofac_sdn_2025-12_partial/alt.csv", func(d []byte) (int, error) {
			e, _ := screening.ParseOFACLegacy(screening.OFACLegacy{List: "SDN", Aliases: bytes.NewReader(d), AltName: "alt.csv"})
			return len(e), nil
		}},
		{"OFACEnhancedZip", "ofac_cons_enhanced_2025-01/CONS_ENHANCED.ZIP", func(d []byte) (int, error) {
			e, _, err := screening.ParseOFACEnhancedZip(d, "CONS_ENHANCED.ZIP")
			return len(e), err
		}},
		{"CSL/gz_2022-04", "us_csl_2022-04/consolidated.csv.gz", func(d []byte) (int, error) {
			e, _, err := screening.ParseCSL(bytes.NewReader(d), "consolidated.csv.gz")
			return len(e), err
		}},
		{"CSL/truncated_2023-11", "us_csl_2023-11_truncated/csl.csv", func(d []byte) (int, error) {
			e, _, err := screening.ParseCSL(bytes.NewReader(d), "csl.csv")
			return len(e), err
		}},
		{"DPL", "bis_dpl_2023-11/dpl.txt", func(d []byte) (int, error) {
			e, _, err := screening.ParseDPL(bytes.NewReader(d), "dpl.txt")
			return len(e), err
		}},
		{"UN", "un_2026-02/UN_consolidated.xml", func(d []byte) (int, error) {
			e, _, err := screening.ParseUN(bytes.NewReader(d), "UN_consolidated.xml")
			return len(e), err
		}},
	}
	for _, c := range cases {
		data := read(c.file)
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				n, err := c.fn(data)
				if err != nil || n == 0 {
					b.Fatalf("%d entities, %v", n, err)
				}
			}
		})
	}
}

// benchQueries is a mix of listed names, misspellings and names on no list.
var benchQueries = []string{
	"Huawei Technologies Co., Ltd.", "华为技术有限公司", "Banco Nacional de Cuba", "Ismail Haniya",
	"Guawei Technologies", "Rosoboronexport", "John Smith", "Emily Thornbury", "Shenzhen Brightpath Cloud Computing Co., Ltd.",
	"AEROCARIBBEAN AIRLINES", "Mohammed Ali", "Kim Jong Un", "Islamic Revolutionary Guard Corps", "Sberbank",
	"Mahan Air", "Vneshekonombank", "Hikvision", "Semiconductor Manufacturing International Corporation",
	"Zhang Wei", "Tanaka Kenji Research Lab K.K.",
}

// BenchmarkSearch measures one query at a time against every list file.
func BenchmarkSearch(b *testing.B) {
	_, ix := mustLoadFull(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := ix.Search(screening.Query{Name: benchQueries[i%len(benchQueries)]}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkSearchParallel measures queries from all cores at once.
func BenchmarkSearchParallel(b *testing.B) {
	_, ix := mustLoadFull(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := ix.Search(screening.Query{Name: benchQueries[i%len(benchQueries)]}); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// BenchmarkSearchLatency runs the evaluation mix one query at a time and
// reports the 50th and 99th percentile latency of Search.
func BenchmarkSearchLatency(b *testing.B) {
	ds, ix := mustLoadFull(b)
	var qs []string
	for _, c := range generateEval(ds.Entities, 3000, 11) {
		qs = append(qs, c.query)
	}
	qs = append(qs, cleanNames()...)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	i := 0
	for b.Loop() {
		start := time.Now()
		ix.Search(screening.Query{Name: qs[i%len(qs)]})
		lat = append(lat, time.Since(start))
		i += 7
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkSearchEvalMix runs the evaluation queries (listed names, aliases,
// typos, reordered words, legal forms) and the 500 clean names, the mix the
// CLI throughput figure is measured on.
func BenchmarkSearchEvalMix(b *testing.B) {
	ds, ix := mustLoadFull(b)
	var qs []string
	for _, c := range generateEval(ds.Entities, 3000, 11) {
		qs = append(qs, c.query)
	}
	qs = append(qs, cleanNames()...)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			ix.Search(screening.Query{Name: qs[i%len(qs)]})
			i += 7
		}
	})
}
