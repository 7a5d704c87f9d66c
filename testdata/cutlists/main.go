//go:build ignore

// cut makes the small real-list fixture in this directory from the full
// list files beside the repository (../shared/data/lists): a deterministic
// selection of whole records, so that screening, list loading and reload
// tests run on a lone clone. Run it from the repository root:
//
//	go run testdata/cutlists/main.go ../shared/data/lists testdata/lists
//
// It selects every Nth record of each file plus named records the tests
// rely on (see keep*). The OFAC files keep their bytes line by line; the CSL
// rows are rewritten by encoding/csv (quoting may differ, the fields do
// not); the UN XML keeps whole <INDIVIDUAL> and <ENTITY> elements.
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: go run testdata/cutlists/main.go SRC DST")
		os.Exit(2)
	}
	src, dst := os.Args[1], os.Args[2]
	must(cutSDN(filepath.Join(src, "ofac_sdn_2021-07"), filepath.Join(dst, "ofac_sdn")))
	must(cutCSL(filepath.Join(src, "us_csl_2022-04", "consolidated.csv.gz"), filepath.Join(dst, "us_csl", "consolidated.csv")))
	must(cutUN(filepath.Join(src, "un_2026-02", "UN_consolidated.xml"), filepath.Join(dst, "un", "UN_consolidated.xml")))
	must(cutDPL(filepath.Join(src, "bis_dpl_2023-11", "dpl.txt"), filepath.Join(dst, "bis_dpl", "dpl.txt")))
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "cut:", err)
		os.Exit(1)
	}
}

// keepSDN are ent_nums tests name: Banco Nacional de Cuba (306), and two
// whose remarks overflow into sdn_comments.csv (12300, 28264).
var keepSDN = map[string]bool{"306": true, "12300": true, "28264": true}

// cutSDN keeps every 40th SDN entry (and keepSDN) with its addresses,
// aliases and remarks overflow.
func cutSDN(src, dst string) error {
	lines, err := readLines(filepath.Join(src, "sdn.csv"))
	if err != nil {
		return err
	}
	keep := map[string]bool{}
	var out []string
	for i, l := range lines {
		id := strings.SplitN(l, ",", 2)[0]
		if i%40 == 0 || keepSDN[id] {
			keep[id] = true
			out = append(out, l)
		}
	}
	if err := writeLines(filepath.Join(dst, "sdn.csv"), out); err != nil {
		return err
	}
	for _, name := range []string{"add.csv", "alt.csv", "sdn_comments.csv"} {
		lines, err := readLines(filepath.Join(src, name))
		if err != nil {
			return err
		}
		var out []string
		for _, l := range lines {
			if keep[strings.SplitN(l, ",", 2)[0]] {
				out = append(out, l)
			}
		}
		if err := writeLines(filepath.Join(dst, name), out); err != nil {
			return err
		}
	}
	return nil
}

// cutCSL keeps every Entity List row naming Huawei (the program's first
// screening case) and every 60th other row.
func cutCSL(src, dst string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	r := csv.NewReader(zr)
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	for i := 0; ; i++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		huawei := len(rec) > 5 && strings.HasPrefix(rec[1], "Entity List") && strings.Contains(strings.ToLower(rec[5]), "huawei")
		if i == 0 || i%60 == 0 || huawei {
			if err := w.Write(rec); err != nil {
				return err
			}
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	return write(dst, buf.Bytes())
}

var (
	unIndividual = regexp.MustCompile(`(?s)    <INDIVIDUAL>.*?</INDIVIDUAL>\n`)
	unEntity     = regexp.MustCompile(`(?s)    <ENTITY>.*?</ENTITY>\n`)
)

// cutUN keeps every 10th individual and every 5th entity of the UN list.
func cutUN(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	out := everyNth(b, unIndividual, 10)
	out = everyNth(out, unEntity, 5)
	return write(dst, out)
}

func everyNth(b []byte, re *regexp.Regexp, n int) []byte {
	i := 0
	return re.ReplaceAllFunc(b, func(m []byte) []byte {
		i++
		if (i-1)%n == 0 {
			return m
		}
		return nil
	})
}

// cutDPL keeps the header and every 10th Denied Persons List row.
func cutDPL(src, dst string) error {
	lines, err := readLines(src)
	if err != nil {
		return err
	}
	var out []string
	for i, l := range lines {
		if i == 0 || i%10 == 0 {
			out = append(out, l)
		}
	}
	return writeLines(dst, out)
}

func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines, sc.Err()
}

func writeLines(path string, lines []string) error {
	if len(lines) == 0 {
		return write(path, nil)
	}
	return write(path, []byte(strings.Join(lines, "\n")+"\n"))
}

func write(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
