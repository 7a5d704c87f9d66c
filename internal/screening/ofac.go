package screening

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Skip records one record a parser could not use, with the line it starts
// on, so that an operator can find it in the file.
type Skip struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// String renders the skip as "file:line: reason", the form compilers use, so
// editors and terminals link to the line.
func (s Skip) String() string { return fmt.Sprintf("%s:%d: %s", s.File, s.Line, s.Reason) }

// OFACLegacy holds the readers of one OFAC legacy CSV publication: the
// primary file (sdn.csv or cons_prim.csv) and its companions. Any reader may
// be nil; the names are used in Skips and Sources. List is "SDN" for the SDN
// files and "" for the consolidated non-SDN files, whose list is then derived
// from each entry's programs.
type OFACLegacy struct {
	List                                      string
	Primary, Addresses, Aliases, Comments     io.Reader
	PrimaryName, AddrName, AltName, CommentsN string
}

// maxSkips bounds the skip report of one file: a file that is all garbage is
// reported by its first problems and a count, not a line per byte.
const maxSkips = 200

// csvRows reads a headerless CSV (the OFAC legacy layout: "-0-" for empty,
// a trailing Ctrl-Z) and calls fn with each record and its starting line.
// Malformed records become skips; reading goes on after them.
func csvRows(r io.Reader, file string, comma rune, fn func(line int, rec []string)) []Skip {
	cr := csv.NewReader(r)
	cr.Comma = comma
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	var skips []Skip
	bad := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				if pe.Err == csv.ErrFieldCount {
					// Unreachable with FieldsPerRecord = -1, kept for safety.
					continue
				}
				bad++
				if len(skips) < maxSkips {
					skips = append(skips, Skip{File: file, Line: pe.StartLine, Reason: describeCSVError(pe)})
				}
				if bad > 10*maxSkips {
					skips = append(skips, Skip{File: file, Line: pe.Line, Reason: "too many malformed records; rest of file not read"})
					break
				}
				continue
			}
			skips = append(skips, Skip{File: file, Reason: fmt.Sprintf("read error after byte %d: %v", cr.InputOffset(), err)})
			break
		}
		// FieldPos is valid only for a record Read returned without error.
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.Trim(rec[0], "\x1a \t\r") == "" {
			continue // the Ctrl-Z end-of-file marker OFAC appends
		}
		fn(line, rec)
	}
	return skips
}

func describeCSVError(pe *csv.ParseError) string {
	if errors.Is(pe.Err, csv.ErrQuote) {
		return fmt.Sprintf("record cut off or malformed quotes (reported at line %d, column %d)", pe.Line, pe.Column)
	}
	return pe.Err.Error()
}

// ofacField cleans one legacy field: "-0-" means empty.
func ofacField(rec []string, i int) string {
	if i >= len(rec) {
		return ""
	}
	s := strings.TrimSpace(rec[i])
	if s == "-0-" {
		return ""
	}
	return s
}

func splitPrograms(s string) []string {
	s = strings.Trim(strings.TrimSpace(s), "[]")
	if s == "" {
		return nil
	}
	var out []string
	for _, p := range strings.Split(s, "] [") {
		if p = strings.TrimSpace(strings.Trim(p, "[]")); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// consListCode names the non-SDN list an OFAC consolidated entry belongs to,
// from its programs (the legacy CSV does not say).
func consListCode(programs []string) string {
	all := strings.Join(programs, " ")
	switch {
	case strings.Contains(all, "NS-PLC"):
		return "PLC"
	case strings.Contains(all, "CMIC"):
		return "CMIC"
	case strings.Contains(all, "UKRAINE-EO13662"):
		return "SSI"
	case strings.Contains(all, "561"):
		return "CAP"
	case strings.Contains(all, "FSE"):
		return "FSE"
	case all != "":
		return "NS-MBS"
	}
	return "CONS"
}

// remarkFacts pulls dates of birth, nationalities and quoted aliases out of
// OFAC remarks ("DOB 1962; POB Shati; nationality Iran; a.k.a. 'BNC'."),
// which is where the legacy format keeps them. Plain scanning, not regular
// expressions: remarks are long and there are tens of thousands of them.
func remarkFacts(e *Entity, remarks string) {
	e.Dates = append(e.Dates, remarkValues(remarks, "DOB ")...)
	for _, key := range []string{"nationality ", "citizen "} {
		for _, v := range remarkValues(remarks, key) {
			if c := CountryCode(strings.TrimSuffix(v, ".")); c != "" {
				e.Countries = append(e.Countries, c)
			}
		}
	}
	rest := remarks
	for {
		i := strings.Index(rest, ".k.a. '")
		if i < 0 {
			break
		}
		rest = rest[i+len(".k.a. '"):]
		j := strings.IndexByte(rest, '\'')
		if j < 0 {
			break
		}
		if alias := strings.TrimSpace(rest[:j]); alias != "" {
			e.Aliases = append(e.Aliases, alias)
		}
		rest = rest[j+1:]
	}
}

// remarkValues returns the text after each occurrence of key that starts a
// remark (at the beginning or after "; "), up to the next ";".
func remarkValues(remarks, key string) []string {
	var out []string
	for off := 0; ; {
		i := strings.Index(remarks[off:], key)
		if i < 0 {
			return out
		}
		i += off
		off = i + len(key)
		if i > 0 && remarks[i-1] != ' ' {
			continue
		}
		v := remarks[off:]
		if j := strings.IndexByte(v, ';'); j >= 0 {
			v = v[:j]
		}
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
}

// ParseOFACLegacy parses one OFAC legacy CSV publication. Entities come back
// unfolded, one per ent_num, with one Source each. Addresses, aliases and
// comments whose ent_num has no primary record still produce an entity when
// they carry a name (the 2025 partial publication has alt.csv without
// sdn.csv), so that folding can attach them to the same ent_num from another
// publication.
func ParseOFACLegacy(in OFACLegacy) ([]Entity, []Skip) {
	byNum := map[string]*Entity{}
	var order []string
	var skips []Skip
	get := func(num string) *Entity {
		if e, ok := byNum[num]; ok {
			return e
		}
		e := &Entity{Key: "ofac:" + num}
		byNum[num] = e
		order = append(order, num)
		return e
	}
	validNum := func(s string) bool {
		if s == "" || len(s) > 12 {
			return false
		}
		for _, r := range s {
			if r < '0' || r > '9' {
				return false
			}
		}
		return true
	}
	if in.Primary != nil {
		skips = append(skips, csvRows(in.Primary, in.PrimaryName, ',', func(line int, rec []string) {
			num := ofacField(rec, 0)
			name := ofacField(rec, 1)
			switch {
			case len(rec) < 4:
				skips = append(skips, Skip{in.PrimaryName, line, fmt.Sprintf("record has %d fields, want 12", len(rec))})
				return
			case !validNum(num):
				skips = append(skips, Skip{in.PrimaryName, line, fmt.Sprintf("ent_num %q is not a number", num)})
				return
			case name == "":
				skips = append(skips, Skip{in.PrimaryName, line, "empty name"})
				return
			}
			e := get(num)
			typ := ofacField(rec, 2)
			if typ == "" {
				e.Type = TypeEntity
			} else {
				e.Type = parseType(typ)
			}
			e.Programs = splitPrograms(ofacField(rec, 3))
			list := in.List
			if list == "" {
				list = consListCode(e.Programs)
			}
			clean, aliases, remark := cleanListName(name)
			e.Name = clean
			e.Aliases = append(e.Aliases, aliases...)
			e.Remarks = strings.TrimSpace(remark + " " + ofacField(rec, 11))
			remarkFacts(e, e.Remarks)
			if flag := ofacField(rec, 9); flag != "" {
				if c := CountryCode(flag); c != "" {
					e.Countries = append(e.Countries, c)
				}
			}
			e.Sources = []Source{{List: list, ID: num, Name: name, File: in.PrimaryName, Line: line, Programs: e.Programs}}
		})...)
	}
	if in.Addresses != nil {
		skips = append(skips, csvRows(in.Addresses, in.AddrName, ',', func(line int, rec []string) {
			num := ofacField(rec, 0)
			if len(rec) < 5 || !validNum(num) {
				skips = append(skips, Skip{in.AddrName, line, "not an address record (ent_num, add_num, address, city, country, remarks)"})
				return
			}
			a := Address{Street: ofacField(rec, 2), City: ofacField(rec, 3), Country: ofacField(rec, 4)}
			code := CountryCode(a.Country)
			if code != "" {
				a.Country = code
			}
			if a == (Address{}) {
				return
			}
			e := get(num)
			e.Addresses = append(e.Addresses, a)
			if code != "" {
				// The address's country is a country the party is known in,
				// as the CSL's address countries are.
				e.Countries = append(e.Countries, a.Country)
			}
		})...)
	}
	if in.Aliases != nil {
		skips = append(skips, csvRows(in.Aliases, in.AltName, ',', func(line int, rec []string) {
			num := ofacField(rec, 0)
			if len(rec) < 4 || !validNum(num) {
				skips = append(skips, Skip{in.AltName, line, "not an alias record (ent_num, alt_num, alt_type, alt_name, remarks)"})
				return
			}
			if name := ofacField(rec, 3); name != "" {
				e := get(num)
				e.Aliases = append(e.Aliases, name)
			}
		})...)
	}
	if in.Comments != nil {
		skips = append(skips, csvRows(in.Comments, in.CommentsN, ',', func(line int, rec []string) {
			num := ofacField(rec, 0)
			if len(rec) < 2 || !validNum(num) {
				skips = append(skips, Skip{in.CommentsN, line, "not a comment record (ent_num, remarks)"})
				return
			}
			e := get(num)
			extra := ofacField(rec, 1)
			e.Remarks = strings.TrimSpace(e.Remarks + " " + extra)
			remarkFacts(e, extra)
		})...)
	}
	out := make([]Entity, 0, len(order))
	for _, num := range order {
		e := byNum[num]
		if e.Name == "" {
			// Companion records without a primary record: usable only when
			// they carry a name.
			if len(e.Aliases) == 0 {
				continue
			}
			e.Name, e.Aliases = e.Aliases[0], e.Aliases[1:]
			list := in.List
			if list == "" {
				list = "CONS"
			}
			file := in.AltName
			e.Sources = []Source{{List: list, ID: num, Name: e.Name, File: file}}
		}
		out = append(out, *e)
	}
	return out, skips
}
