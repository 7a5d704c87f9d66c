package screening

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// maybeGunzip returns a reader of r's content, unpacking it when it starts
// with the gzip magic number, whatever the file is called.
func maybeGunzip(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(2)
	if len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return zr, nil
	}
	return br, nil
}

var reParenCode = regexp.MustCompile(`\(([A-Za-z][A-Za-z-]*)(?: List)?\)`)

// cslListCode turns the CSL "source" column ("Entity List (EL) - Bureau of
// Industry and Security") into its short code ("EL").
func cslListCode(source string) string {
	if m := reParenCode.FindStringSubmatch(source); m != nil {
		return strings.ToUpper(m[1])
	}
	if s := strings.TrimSpace(source); s != "" {
		return s
	}
	return "CSL"
}

// splitList splits a CSL multi-value cell ("a; b; c").
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ";") {
		p = strings.TrimSpace(p)
		p = strings.TrimPrefix(p, "and ")
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// cslAddress reads one CSL address, "street, city, state, postal, CC": the
// last part is an ISO code when the list knows the country.
func cslAddress(s string) Address {
	s = strings.TrimSpace(s)
	i := strings.LastIndex(s, ",")
	last := strings.TrimSpace(s[i+1:])
	if c := CountryCode(last); c != "" && (i >= 0 || len(last) == 2) {
		rest := ""
		if i >= 0 {
			rest = strings.TrimSpace(s[:i])
		}
		return Address{Street: rest, Country: c}
	}
	return Address{Street: s}
}

// ParseCSL parses the US Consolidated Screening List CSV (trade.gov), plain
// or gzip-compressed; columns are found by their header names, so the 2022
// and 2025 layouts both work. A repeated header line is ignored. Records that
// are cut off or have the wrong number of fields are skipped and reported
// with their line; everything valid is returned.
func ParseCSL(r io.Reader, file string) ([]Entity, []Skip, error) {
	r, err := maybeGunzip(r)
	if err != nil {
		return nil, nil, err
	}
	var out []Entity
	var skips []Skip
	var col map[string]int
	var header []string
	codes := map[string]string{} // source column → list code; a few distinct values
	get := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	skips = append(skips, csvRows(r, file, ',', func(line int, rec []string) {
		if col == nil {
			if len(rec) == 0 || strings.TrimPrefix(rec[0], "\ufeff") != "_id" {
				skips = append(skips, Skip{file, line, "no CSL header (_id,source,…,name,…)"})
				col = map[string]int{} // report once; every later record fails the name check
				return
			}
			col = map[string]int{}
			for i, h := range rec {
				col[strings.TrimPrefix(strings.TrimSpace(h), "\ufeff")] = i
			}
			header = append([]string(nil), rec...)
			return
		}
		if len(rec) > 0 && rec[0] == "_id" {
			return // the header repeated (the 2023-11 file has it twice)
		}
		if len(rec) != len(header) {
			skips = append(skips, Skip{file, line, fmt.Sprintf("record has %d fields, want %d (cut off?)", len(rec), len(header))})
			return
		}
		raw := get(rec, "name")
		if raw == "" {
			skips = append(skips, Skip{file, line, "empty name"})
			return
		}
		source := get(rec, "source")
		list, ok := codes[source]
		if !ok {
			list = cslListCode(source)
			codes[source] = list
		}
		id := get(rec, "_id")
		num := get(rec, "entity_number")
		e := Entity{Type: parseType(get(rec, "type"))}
		name, aliases, remark := cleanListName(raw)
		e.Name = name
		e.Aliases = aliases
		e.Aliases = append(e.Aliases, splitList(get(rec, "alt_names"))...)
		e.Programs = splitList(get(rec, "programs"))
		e.Remarks = strings.TrimSpace(remark + " " + get(rec, "remarks"))
		for _, a := range splitList(get(rec, "addresses")) {
			addr := cslAddress(a)
			e.Addresses = append(e.Addresses, addr)
			if len(addr.Country) == 2 {
				e.Countries = append(e.Countries, addr.Country)
			}
		}
		for _, c := range append(splitList(get(rec, "citizenships")), splitList(get(rec, "nationalities"))...) {
			for _, part := range strings.Split(c, ",") {
				if code := CountryCode(part); code != "" {
					e.Countries = append(e.Countries, code)
				}
			}
		}
		e.Dates = splitList(get(rec, "dates_of_birth"))
		e.IDs = splitList(get(rec, "ids"))
		if num != "" && isDigits(num) {
			e.Key = "ofac:" + num
			id = num
		}
		if id == "" {
			id = fmt.Sprintf("line-%d", line)
		}
		e.Sources = []Source{{List: list, ID: id, Name: raw, File: file, Line: line, Programs: e.Programs, Listed: get(rec, "start_date"), Notice: get(rec, "federal_register_notice")}}
		out = append(out, e)
	})...)
	if col == nil {
		return out, skips, fmt.Errorf("%s: empty file", file)
	}
	return out, skips, nil
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
