package screening

import (
	"fmt"
	"io"
	"strings"
)

// ParseDPL parses the BIS Denied Persons List text file: tab-separated,
// quoted, with a header line (Name, Street_Address, City, State, Country,
// Postal_Code, Effective_Date, Expiration_Date, Standard_Order, Last_Update,
// Action, FR_Citation). The file has no ids; a record's id is its name and
// effective date, which is how BIS itself tells orders apart.
func ParseDPL(r io.Reader, file string) ([]Entity, []Skip, error) {
	var out []Entity
	var skips []Skip
	var col map[string]int
	get := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	skips = append(skips, csvRows(r, file, '\t', func(line int, rec []string) {
		if col == nil {
			col = map[string]int{}
			for i, h := range rec {
				col[strings.TrimPrefix(strings.TrimSpace(h), "\ufeff")] = i
			}
			if _, ok := col["Name"]; !ok {
				skips = append(skips, Skip{file, line, "no DPL header (Name, Street_Address, …)"})
			}
			return
		}
		if len(rec) < 5 {
			skips = append(skips, Skip{file, line, fmt.Sprintf("record has %d fields, want 12", len(rec))})
			return
		}
		raw := get(rec, "Name")
		if raw == "" {
			skips = append(skips, Skip{file, line, "empty name"})
			return
		}
		name, aliases, remark := cleanListName(raw)
		e := Entity{Name: name, Aliases: aliases, Remarks: strings.TrimSpace(remark + " " + get(rec, "Action") + " " + get(rec, "FR_Citation"))}
		a := Address{Street: get(rec, "Street_Address"), City: get(rec, "City"), State: get(rec, "State"), Postal: get(rec, "Postal_Code"), Country: get(rec, "Country")}
		if c := CountryCode(a.Country); c != "" {
			a.Country = c
			e.Countries = append(e.Countries, c)
		}
		if a != (Address{}) {
			e.Addresses = append(e.Addresses, a)
		}
		id := raw + " (" + get(rec, "Effective_Date") + ")"
		e.Sources = []Source{{List: "DPL", ID: id, Name: raw, File: file, Line: line, Listed: get(rec, "Effective_Date"), Notice: get(rec, "FR_Citation")}}
		out = append(out, e)
	})...)
	if col == nil {
		return out, skips, fmt.Errorf("%s: empty file", file)
	}
	return out, skips, nil
}
