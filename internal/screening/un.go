package screening

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

type unValues struct {
	Values []string `xml:"VALUE"`
}

type unAlias struct {
	Quality string `xml:"QUALITY"`
	Name    string `xml:"ALIAS_NAME"`
}

type unAddress struct {
	Street  string `xml:"STREET"`
	City    string `xml:"CITY"`
	State   string `xml:"STATE_PROVINCE"`
	Zip     string `xml:"ZIP_CODE"`
	Country string `xml:"COUNTRY"`
}

type unDOB struct {
	Date     string `xml:"DATE"`
	Year     string `xml:"YEAR"`
	FromYear string `xml:"FROM_YEAR"`
	ToYear   string `xml:"TO_YEAR"`
}

type unRecord struct {
	DataID      string      `xml:"DATAID"`
	First       string      `xml:"FIRST_NAME"`
	Second      string      `xml:"SECOND_NAME"`
	Third       string      `xml:"THIRD_NAME"`
	Fourth      string      `xml:"FOURTH_NAME"`
	ListType    string      `xml:"UN_LIST_TYPE"`
	Reference   string      `xml:"REFERENCE_NUMBER"`
	Listed      string      `xml:"LISTED_ON"`
	Comments    string      `xml:"COMMENTS1"`
	Original    string      `xml:"NAME_ORIGINAL_SCRIPT"`
	Nationality unValues    `xml:"NATIONALITY"`
	IndAlias    []unAlias   `xml:"INDIVIDUAL_ALIAS"`
	EntAlias    []unAlias   `xml:"ENTITY_ALIAS"`
	IndAddress  []unAddress `xml:"INDIVIDUAL_ADDRESS"`
	EntAddress  []unAddress `xml:"ENTITY_ADDRESS"`
	DOB         []unDOB     `xml:"INDIVIDUAL_DATE_OF_BIRTH"`
}

// xmlLine turns a decoder offset into a line number for a skip report.
func xmlLine(d *xml.Decoder) int {
	line, _ := d.InputPos()
	return line
}

// ParseUN parses the UN Security Council Consolidated List XML, streaming
// INDIVIDUAL and ENTITY records. A record that does not decode is skipped
// and reported; a document that breaks off keeps everything before the
// break.
func ParseUN(r io.Reader, file string) ([]Entity, []Skip, error) {
	d := xml.NewDecoder(r)
	d.Strict = false
	var out []Entity
	var skips []Skip
	sawRoot := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			skips = append(skips, Skip{file, xmlLine(d), "XML broken off: " + err.Error()})
			break
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch se.Name.Local {
		case "CONSOLIDATED_LIST":
			sawRoot = true
			continue
		case "INDIVIDUAL", "ENTITY":
		default:
			continue
		}
		line := xmlLine(d)
		var rec unRecord
		if err := d.DecodeElement(&rec, &se); err != nil {
			skips = append(skips, Skip{file, line, fmt.Sprintf("%s record does not decode: %v", se.Name.Local, err)})
			var se *xml.SyntaxError
			if errors.As(err, &se) || err == io.ErrUnexpectedEOF {
				break
			}
			continue
		}
		var parts []string
		for _, p := range []string{rec.First, rec.Second, rec.Third, rec.Fourth} {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		raw := strings.Join(parts, " ")
		if raw == "" {
			skips = append(skips, Skip{file, line, "record without a name"})
			continue
		}
		e := Entity{Type: TypeEntity, Remarks: strings.TrimSpace(rec.Comments)}
		if se.Name.Local == "INDIVIDUAL" {
			e.Type = TypeIndividual
		}
		name, aliases, _ := cleanListName(raw)
		e.Name = name
		e.Aliases = aliases
		for _, a := range append(rec.IndAlias, rec.EntAlias...) {
			if n := strings.TrimSpace(a.Name); n != "" {
				e.Aliases = append(e.Aliases, n)
			}
		}
		if o := strings.TrimSpace(rec.Original); o != "" {
			e.Aliases = append(e.Aliases, o)
		}
		for _, a := range append(rec.IndAddress, rec.EntAddress...) {
			addr := Address{Street: strings.TrimSpace(a.Street), City: strings.TrimSpace(a.City), State: strings.TrimSpace(a.State), Postal: strings.TrimSpace(a.Zip), Country: strings.TrimSpace(a.Country)}
			if c := CountryCode(addr.Country); c != "" {
				addr.Country = c
				e.Countries = append(e.Countries, c)
			}
			if addr != (Address{}) {
				e.Addresses = append(e.Addresses, addr)
			}
		}
		for _, n := range rec.Nationality.Values {
			if c := CountryCode(n); c != "" {
				e.Countries = append(e.Countries, c)
			}
		}
		for _, dob := range rec.DOB {
			switch {
			case dob.Date != "":
				e.Dates = append(e.Dates, strings.TrimSpace(dob.Date))
			case dob.Year != "":
				e.Dates = append(e.Dates, strings.TrimSpace(dob.Year))
			case dob.FromYear != "":
				e.Dates = append(e.Dates, strings.TrimSpace(dob.FromYear)+" to "+strings.TrimSpace(dob.ToYear))
			}
		}
		if lt := strings.TrimSpace(rec.ListType); lt != "" {
			e.Programs = []string{lt}
		}
		id := strings.TrimSpace(rec.Reference)
		if id == "" {
			id = strings.TrimSpace(rec.DataID)
		}
		e.Key = "UN:" + id
		e.Sources = []Source{{List: "UN", ID: id, Name: raw, File: file, Line: line, Programs: e.Programs, Listed: strings.TrimSpace(rec.Listed)}}
		out = append(out, e)
	}
	if !sawRoot {
		return out, skips, fmt.Errorf("%s: not a UN consolidated list (no CONSOLIDATED_LIST element)", file)
	}
	return out, skips, nil
}
