package screening_test

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/chipgate/chipgate/internal/screening"
)

// seedFile adds the first n lines of a real list file as a fuzz seed, when
// the lists are present; the inline seeds keep the targets useful without.
func seedFile(f *testing.F, rel string, n int, extra ...any) {
	f.Helper()
	dir, err := os.Getwd()
	if err != nil {
		return
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		if filepath.Dir(dir) == dir {
			return
		}
		dir = filepath.Dir(dir)
	}
	fh, err := os.Open(filepath.Join(dir, "..", "shared", "data", "lists", rel))
	if err != nil {
		return
	}
	defer fh.Close()
	var r io.Reader = fh
	if strings.HasSuffix(rel, ".gz") {
		zr, err := gzip.NewReader(fh)
		if err != nil {
			return
		}
		r = zr
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var b bytes.Buffer
	for i := 0; i < n && sc.Scan(); i++ {
		b.Write(sc.Bytes())
		b.WriteByte('\n')
	}
	f.Add(append([]any{b.Bytes()}, extra...)...)
}

// checkEntities holds for every parser: what comes back has a name and a
// source, and skips point at a line.
func checkEntities(t *testing.T, ents []screening.Entity, skips []screening.Skip) {
	t.Helper()
	for _, e := range ents {
		if strings.TrimSpace(e.Name) == "" || len(e.Sources) == 0 {
			t.Fatalf("entity without name or source: %+v", e)
		}
	}
	for _, s := range skips {
		if s.Line < 0 || s.Reason == "" {
			t.Fatalf("bad skip: %+v", s)
		}
	}
}

func FuzzParseOFACLegacy(f *testing.F) {
	f.Add([]byte(sdnCSV), byte(0))
	f.Add([]byte(addCSV), byte(1))
	f.Add([]byte(altCSV), byte(2))
	f.Add([]byte(commentsCSV), byte(3))
	f.Add([]byte("1,\"unterminated\n2,\"x\""), byte(0))
	seedFile(f, "ofac_sdn_2021-07/sdn.csv", 20, byte(0))
	seedFile(f, "ofac_sdn_2021-07/add.csv", 20, byte(1))
	seedFile(f, "ofac_sdn_2021-07/alt.csv", 20, byte(2))
	seedFile(f, "ofac_sdn_2021-07/sdn_comments.csv", 3, byte(3))
	seedFile(f, "ofac_cons_2025-12/cons_prim.csv", 20, byte(0))
	f.Fuzz(func(t *testing.T, data []byte, role byte) {
		in := screening.OFACLegacy{List: "SDN", PrimaryName: "p", AddrName: "a", AltName: "l", CommentsN: "c"}
		switch role % 4 {
		case 0:
			in.Primary = bytes.NewReader(data)
		case 1:
			in.Addresses = bytes.NewReader(data)
		case 2:
			in.Aliases = bytes.NewReader(data)
		case 3:
			in.Comments = bytes.NewReader(data)
		}
		ents, skips := screening.ParseOFACLegacy(in)
		checkEntities(t, ents, skips)
	})
}

func FuzzParseCSL(f *testing.F) {
	f.Add([]byte(cslRows))
	f.Add([]byte(cslHeader + "x,\"y"))
	seedFile(f, "us_csl_2022-04/consolidated.csv.gz", 15)
	seedFile(f, "us_csl_sample_2025/consolidated.csv", 15)
	f.Fuzz(func(t *testing.T, data []byte) {
		ents, skips, _ := screening.ParseCSL(bytes.NewReader(data), "csl.csv")
		checkEntities(t, ents, skips)
	})
}

func FuzzParseDPL(f *testing.F) {
	seedFile(f, "bis_dpl_2023-11/dpl.txt", 20)
	f.Add([]byte("\"Name\"\t\"Country\"\n\"X\"\t\"US\"\t\"\"\t\"\"\t\"\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ents, skips, _ := screening.ParseDPL(bytes.NewReader(data), "dpl.txt")
		checkEntities(t, ents, skips)
	})
}

func FuzzParseUN(f *testing.F) {
	f.Add([]byte(unXML))
	seedFile(f, "un_2026-02/UN_consolidated.xml", 80)
	f.Fuzz(func(t *testing.T, data []byte) {
		ents, skips, _ := screening.ParseUN(bytes.NewReader(data), "un.xml")
		checkEntities(t, ents, skips)
	})
}

func FuzzParseOFACEnhancedXML(f *testing.F) {
	f.Add([]byte(enhancedXML))
	f.Fuzz(func(t *testing.T, data []byte) {
		ents, skips, _ := screening.ParseOFACEnhancedXML(bytes.NewReader(data), "enhanced.xml")
		checkEntities(t, ents, skips)
	})
}

func FuzzParseOFACEnhancedZip(f *testing.F) {
	// A valid archive as the seed; the fuzzer mutates its bytes.
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	if w, err := zw.Create("CONS_ENHANCED.XML"); err == nil {
		w.Write([]byte(enhancedXML))
	}
	zw.Close()
	f.Add(buf.Bytes())
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ents, skips, _ := screening.ParseOFACEnhancedZip(data, "x.zip")
		checkEntities(t, ents, skips)
	})
}

// FuzzNormalize checks that normalization never panics and yields clean
// tokens: non-empty, without spaces.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"Huawei Technologies Co., Ltd.", "华为技术有限公司", "HANIYA, Ismail", "ООО Ромашка", "S.A. de C.V.", "\xff\xfe", ""} {
		f.Add(s)
	}
	n := screening.NewNormalizer()
	f.Fuzz(func(t *testing.T, s string) {
		for _, person := range []bool{false, true} {
			toks, _ := n.Tokens(s, person)
			for _, tok := range toks {
				if tok == "" || strings.ContainsAny(tok, " \t\n") {
					t.Fatalf("Tokens(%q) gave bad token %q", s, tok)
				}
			}
		}
		n.QueryTokens(s, func(string) bool { return true })
	})
}

// FuzzSearch checks that any query either errors with EINVALID or returns
// hits with scores in [0, 1], best first.
func FuzzSearch(f *testing.F) {
	ents, _, err := screening.ParseCSL(strings.NewReader(cslRows), "csl.csv")
	if err != nil {
		f.Fatal(err)
	}
	ix := screening.NewIndex(screening.Fold(ents))
	for _, s := range []string{"Huawei", "Guawei Technolgies", "ABBAS, Rim", "", "!!!", "华为"} {
		f.Add(s, "CN")
	}
	f.Fuzz(func(t *testing.T, name, country string) {
		hits, err := ix.Search(screening.Query{Name: name, Country: country, MinScore: 0.01})
		if err != nil {
			if utf8.ValidString(name) && strings.TrimSpace(name) != "" && len(name) < 100 && strings.ContainsAny(strings.ToLower(name), "abcdefghijklmnopqrstuvwxyz") {
				t.Fatalf("Search(%q) = %v for a plain name", name, err)
			}
			return
		}
		for i, h := range hits {
			if h.Score < 0 || h.Score > 1 || (i > 0 && h.Score > hits[i-1].Score) {
				t.Fatalf("Search(%q): bad scores %+v", name, hits)
			}
		}
	})
}
