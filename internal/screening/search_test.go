package screening_test

import (
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/screening"
)

// TestLoadDirFixture loads the repository's cut of the real lists, present
// in every clone: every file recognized, every record parsed.
func TestLoadDirFixture(t *testing.T) {
	ds, _ := mustLoadFixture(t)
	want := map[string]struct {
		format  screening.Format
		records int
	}{
		"bis_dpl/dpl.txt":         {screening.FormatDPL, 66},
		"ofac_sdn/sdn.csv":        {screening.FormatOFACPrimary, 228},
		"un/UN_consolidated.xml":  {screening.FormatUN, 128},
		"us_csl/consolidated.csv": {screening.FormatCSL, 370},
	}
	got := map[string]screening.FileReport{}
	for _, f := range ds.Report.Files {
		got[f.Path] = f
		if f.Error != "" || len(f.Skipped) > 0 {
			t.Errorf("%s: error %q, skipped %+v", f.Path, f.Error, f.Skipped)
		}
	}
	for p, w := range want {
		if got[p].Format != w.format || got[p].Records != w.records {
			t.Errorf("%s: format %s, %d records; want %s, %d", p, got[p].Format, got[p].Records, w.format, w.records)
		}
	}
	if !slices.ContainsFunc(ds.Entities, func(e screening.Entity) bool { return e.Key == "ofac:306" }) {
		t.Error("ofac:306 (Banco Nacional de Cuba) missing from the fixture")
	}
}

func TestLoadDirRealLists(t *testing.T) {
	ds, _ := mustLoadFull(t)
	r := ds.Report
	want := map[string]screening.Format{
		"bis_dpl_2023-11/dpl.txt":                      screening.FormatDPL,
		"ofac_cons_2025-12/cons_prim.csv":              screening.FormatOFACPrimary,
		"ofac_cons_enhanced_2025-01/CONS_ENHANCED.ZIP": screening.FormatOFACEnhanced,
		"ofac_sdn_2021-07/sdn.csv":                     screening.FormatOFACPrimary,
		"ofac_sdn_2025-12_partial/add.csv":             screening.FormatOFACPrimary,
		"ofac_sdn_subset_2025/sdn.csv":                 screening.FormatOFACPrimary,
		"un_2026-02/UN_consolidated.xml":               screening.FormatUN,
		"us_csl_2022-04/consolidated.csv.gz":           screening.FormatCSL,
		"us_csl_2023-11_truncated/csl.csv":             screening.FormatCSL,
		"us_csl_sample_2025/consolidated.csv":          screening.FormatCSL,
	}
	got := map[string]screening.FileReport{}
	for _, f := range r.Files {
		got[f.Path] = f
		if f.Error != "" {
			t.Errorf("%s: %s", f.Path, f.Error)
		}
	}
	for p, format := range want {
		if got[p].Format != format || got[p].Records == 0 {
			t.Errorf("%s: report %+v, want format %s with records", p, got[p], format)
		}
	}
	if n := got["ofac_sdn_2021-07/sdn.csv"].Records; n != 8976 {
		t.Errorf("sdn 2021-07: %d records, want 8976", n)
	}
	if n := got["us_csl_2022-04/consolidated.csv.gz"].Records; n != 14160 {
		t.Errorf("CSL 2022-04: %d records, want 14160", n)
	}
	if n := got["un_2026-02/UN_consolidated.xml"].Records; n != 1003 {
		t.Errorf("UN: %d records, want 1003", n)
	}
	if n := got["ofac_cons_enhanced_2025-01/CONS_ENHANCED.ZIP"].Records; n != 443 {
		t.Errorf("enhanced: %d records, want 443", n)
	}
	trunc := got["us_csl_2023-11_truncated/csl.csv"]
	if trunc.Records != 4226 || len(trunc.Skipped) != 1 || trunc.Skipped[0].Line != 4233 {
		t.Errorf("truncated CSL: %d records, skipped %+v; want 4226 and the cut-off record at line 4233", trunc.Records, trunc.Skipped)
	}
	if len(r.Unrecognized) != 1 || r.Unrecognized[0] != "SOURCES.md" {
		t.Errorf("unrecognized = %q", r.Unrecognized)
	}
	// SDN 306 is in sdn.csv, the 2022 CSL and the 2023 CSL: one entity.
	for _, e := range ds.Entities {
		if e.Key == "ofac:306" {
			files := map[string]bool{}
			for _, s := range e.Sources {
				files[s.File] = true
			}
			if !files["ofac_sdn_2021-07/sdn.csv"] || !files["us_csl_2022-04/consolidated.csv.gz"] {
				t.Errorf("ofac:306 sources = %+v", e.Sources)
			}
		}
	}
}

func TestSearch(t *testing.T) {
	_, ix := mustLoad(t)
	_, full := listsDir(t)
	tests := []struct {
		name    string
		query   screening.Query
		wantKey string // key of the first hit ("" for no hits)
		wantIn  string // or: the first hit's name contains this
		full    bool   // the entity is only in the full lists, not in testdata/lists
	}{
		{"Exact", screening.Query{Name: "Banco Nacional de Cuba"}, "ofac:306", "", false},
		{"Alias", screening.Query{Name: "National Bank of Cuba"}, "ofac:306", "", false},
		{"ChineseScript", screening.Query{Name: "华为技术有限公司"}, "", "Huawei Technolog", false},
		{"FirstLetterTypo", screening.Query{Name: "Guawei Technologies"}, "", "Huawei Technolog", false},
		{"LegalFormAdded", screening.Query{Name: "Banco Nacional de Cuba S.A."}, "ofac:306", "", false},
		{"JoinedWords", screening.Query{Name: "Aero Caribbean Airlines"}, "ofac:36", "", false},
		{"SurnameFirst", screening.Query{Name: "HANIYA, Ismail Abdul Salah"}, "ofac:9639", "", true},
		{"GivenFirst", screening.Query{Name: "Ismail Abdul Salah Haniya"}, "ofac:9639", "", true},
		{"TwoEditTypo", screening.Query{Name: "Rosobornexprot"}, "", "ROSOBORONEXPORT", false},
		{"CleanPerson", screening.Query{Name: "Emily Thornbury"}, "", "", false},
		{"CleanCompany", screening.Query{Name: "Shenzhen Brightpath Cloud Computing Co., Ltd."}, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.full && !full {
				t.Skip("entity only in the full lists (../shared/data/lists)")
			}
			hits, err := ix.Search(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantKey == "" && tt.wantIn == "" {
				if len(hits) != 0 {
					t.Errorf("want no hits, got %q %.3f", hits[0].Matched, hits[0].Score)
				}
				return
			}
			if len(hits) == 0 {
				t.Fatal("no hits")
			}
			top := hits[0]
			if tt.wantKey != "" && top.Entity.Key != tt.wantKey {
				t.Errorf("first hit %s %q %.3f, want %s", top.Entity.Key, top.Matched, top.Score, tt.wantKey)
			}
			if tt.wantIn != "" && !strings.Contains(strings.ToUpper(top.Entity.Name+" "+top.Matched), strings.ToUpper(tt.wantIn)) {
				t.Errorf("first hit %q (%q), want one containing %q", top.Entity.Name, top.Matched, tt.wantIn)
			}
			if top.Score < screening.DefaultMinScore || top.Score > 1 || len(top.Tokens) == 0 {
				t.Errorf("first hit score %.3f, tokens %v", top.Score, top.Tokens)
			}
			for i := 1; i < len(hits); i++ {
				if hits[i].Score > hits[i-1].Score {
					t.Errorf("hits not best first at %d", i)
				}
			}
		})
	}
}

func TestSearchLimitAndMinScore(t *testing.T) {
	_, ix := mustLoad(t)
	hits, err := ix.Search(screening.Query{Name: "Huawei", Limit: 3, MinScore: 0.3})
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 3 {
		t.Errorf("got %d hits, want the limit 3", len(hits))
	}
	for _, h := range hits {
		if h.Score < 0.3 {
			t.Errorf("hit %.3f below MinScore", h.Score)
		}
	}
}

func TestSearchCountryEvidence(t *testing.T) {
	_, ix := mustLoad(t)
	score := func(country string) (float64, []screening.Evidence) {
		t.Helper()
		hits, err := ix.Search(screening.Query{Name: "Banco Nacionl de Cuba", Country: country, MinScore: 0.5})
		if err != nil || len(hits) == 0 || hits[0].Entity.Key != "ofac:306" {
			t.Fatalf("country %q: %v %+v", country, err, hits)
		}
		return hits[0].Score, hits[0].Evidence
	}
	none, _ := score("")
	same, ev := score("Switzerland") // its listed addresses are in CH, ES, JP and PA
	other, _ := score("NO")
	if !(same > none && none > other) {
		t.Errorf("scores: same country %.3f, none %.3f, other country %.3f; want same > none > other", same, none, other)
	}
	if len(ev) != 1 || ev[0].Kind != "country" || ev[0].Delta <= 0 {
		t.Errorf("evidence = %+v", ev)
	}
}

func TestSearchErrInvalid(t *testing.T) {
	_, ix := mustLoad(t)
	tests := []struct {
		name  string
		query screening.Query
	}{
		{"Empty", screening.Query{Name: ""}},
		{"Blank", screening.Query{Name: " \t "}},
		{"NoLetters", screening.Query{Name: "!!! --- ???"}},
		{"TooLong", screening.Query{Name: strings.Repeat("a", screening.MaxQueryBytes+1)}},
		{"TooManyWords", screening.Query{Name: strings.Repeat("abc ", screening.MaxQueryTokens+1)}},
		{"BadUTF8", screening.Query{Name: "abc\xff"}},
		{"NegativeLimit", screening.Query{Name: "Huawei", Limit: -1}},
		{"HugeLimit", screening.Query{Name: "Huawei", Limit: screening.MaxLimit + 1}},
		{"MinScoreAboveOne", screening.Query{Name: "Huawei", MinScore: 1.5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ix.Search(tt.query)
			if code := domain.ErrorCode(err); code != domain.EINVALID {
				t.Errorf("error %v (code %q), want %s", err, code, domain.EINVALID)
			}
		})
	}
}

// TestSearchConcurrent runs searches from many goroutines on one index,
// as the service will; run with -race to check the scratch pooling.
func TestSearchConcurrent(t *testing.T) {
	_, ix := mustLoad(t)
	want, err := ix.Search(screening.Query{Name: "Huawei Technologies Co., Ltd."})
	if err != nil || len(want) == 0 {
		t.Fatalf("%v %v", want, err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				got, err := ix.Search(screening.Query{Name: "Huawei Technologies Co., Ltd."})
				if err != nil || len(got) != len(want) || got[0].Entity.Key != want[0].Entity.Key || got[0].Score != want[0].Score {
					t.Errorf("concurrent search differs: %v %+v", err, got)
					return
				}
			}
		}()
	}
	wg.Wait()
}
