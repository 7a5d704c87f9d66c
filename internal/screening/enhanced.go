package screening

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

type enhTranslation struct {
	Primary  bool   `xml:"isPrimary"`
	Script   string `xml:"script"`
	FullName string `xml:"formattedFullName"`
	Parts    []struct {
		Type  string `xml:"type"`
		Value string `xml:"value"`
	} `xml:"addressParts>addressPart"`
}

type enhEntity struct {
	ID       string   `xml:"id,attr"`
	Type     string   `xml:"generalInfo>entityType"`
	Lists    []string `xml:"sanctionsLists>sanctionsList"`
	Programs []string `xml:"sanctionsPrograms>sanctionsProgram"`
	Names    []struct {
		Primary      bool             `xml:"isPrimary"`
		Translations []enhTranslation `xml:"translations>translation"`
	} `xml:"names>name"`
	Addresses []struct {
		Country      string           `xml:"country"`
		Translations []enhTranslation `xml:"translations>translation"`
	} `xml:"addresses>address"`
	Features []struct {
		Type  string `xml:"type"`
		Value string `xml:"value"`
	} `xml:"features>feature"`
	Remarks string `xml:"remarks"`
}

// enhancedListCode maps an enhanced-XML sanctions list name to the short
// code the CSL uses for the same list.
func enhancedListCode(lists []string) string {
	for _, l := range lists {
		switch {
		case strings.Contains(l, "SDN List"):
			return "SDN"
		case strings.Contains(l, "Palestinian"):
			return "PLC"
		case strings.Contains(l, "Sectoral"):
			return "SSI"
		case strings.Contains(l, "Chinese Military"):
			return "CMIC"
		case strings.Contains(l, "Menu-Based"):
			return "NS-MBS"
		case strings.Contains(l, "Foreign Sanctions Evaders"):
			return "FSE"
		case strings.Contains(l, "CAPTA"), strings.Contains(l, "Correspondent Account"):
			return "CAP"
		}
	}
	return "CONS"
}

// ParseOFACEnhancedZip opens an OFAC enhanced-XML publication as OFAC ships
// it (a zip holding one .XML file) and parses the XML inside.
func ParseOFACEnhancedZip(data []byte, file string) ([]Entity, []Skip, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: not a zip archive: %w", file, err)
	}
	for _, f := range zr.File {
		if !strings.EqualFold(path.Ext(f.Name), ".xml") {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %s: %w", file, f.Name, err)
		}
		defer rc.Close()
		// Bound what a hostile archive can make us read.
		return ParseOFACEnhancedXML(io.LimitReader(rc, 1<<30), file+"!"+f.Name)
	}
	return nil, nil, fmt.Errorf("%s: no .xml file inside the archive", file)
}

// ParseOFACEnhancedXML parses the OFAC Sanctions List Service enhanced XML
// (sanctionsData/entities/entity), streaming one entity at a time. Damaged
// entities are skipped and reported with their line.
func ParseOFACEnhancedXML(r io.Reader, file string) ([]Entity, []Skip, error) {
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
		if se.Name.Local == "sanctionsData" {
			sawRoot = true
			continue
		}
		if se.Name.Local != "entity" {
			continue
		}
		line := xmlLine(d)
		var rec enhEntity
		if err := d.DecodeElement(&rec, &se); err != nil {
			skips = append(skips, Skip{file, line, fmt.Sprintf("entity does not decode: %v", err)})
			var syn *xml.SyntaxError
			if errors.As(err, &syn) || err == io.ErrUnexpectedEOF {
				break
			}
			continue
		}
		id := strings.TrimSpace(rec.ID)
		if !isDigits(id) {
			skips = append(skips, Skip{file, line, fmt.Sprintf("entity id %q is not a number", id)})
			continue
		}
		e := Entity{Key: "ofac:" + id, Type: parseType(rec.Type)}
		for _, p := range rec.Programs {
			if p = strings.TrimSpace(p); p != "" {
				e.Programs = append(e.Programs, p)
			}
		}
		var primaryRaw string
		for _, n := range rec.Names {
			for _, t := range n.Translations {
				full := strings.TrimSpace(t.FullName)
				if full == "" {
					continue
				}
				if n.Primary && t.Primary && primaryRaw == "" {
					primaryRaw = full
					continue
				}
				e.Aliases = append(e.Aliases, full)
			}
		}
		if primaryRaw == "" {
			if len(e.Aliases) == 0 {
				skips = append(skips, Skip{file, line, "entity " + id + " has no name"})
				continue
			}
			primaryRaw, e.Aliases = e.Aliases[0], e.Aliases[1:]
		}
		name, aliases, remark := cleanListName(primaryRaw)
		e.Name = name
		e.Aliases = append(aliases, e.Aliases...)
		e.Remarks = strings.TrimSpace(remark + " " + strings.TrimSpace(rec.Remarks))
		for _, a := range rec.Addresses {
			addr := Address{Country: strings.TrimSpace(a.Country)}
			for _, t := range a.Translations {
				if !t.Primary {
					continue
				}
				var street []string
				for _, p := range t.Parts {
					v := strings.TrimSpace(p.Value)
					switch p.Type {
					case "CITY":
						addr.City = v
					case "STATE/PROVINCE":
						addr.State = v
					case "POSTAL CODE":
						addr.Postal = v
					default:
						street = append(street, v)
					}
				}
				addr.Street = strings.Join(street, ", ")
			}
			if c := CountryCode(addr.Country); c != "" {
				addr.Country = c
				e.Countries = append(e.Countries, c)
			}
			if addr != (Address{}) {
				e.Addresses = append(e.Addresses, addr)
			}
		}
		for _, f := range rec.Features {
			v := strings.TrimSpace(f.Value)
			switch {
			case f.Type == "Birthdate":
				e.Dates = append(e.Dates, v)
			case strings.Contains(f.Type, "Nationality") || strings.Contains(f.Type, "Citizenship"):
				if c := CountryCode(v); c != "" {
					e.Countries = append(e.Countries, c)
				}
			}
		}
		e.Sources = []Source{{List: enhancedListCode(rec.Lists), ID: id, Name: primaryRaw, File: file, Line: line, Programs: e.Programs}}
		out = append(out, e)
	}
	if !sawRoot {
		return out, skips, fmt.Errorf("%s: not an OFAC enhanced XML file (no sanctionsData element)", file)
	}
	return out, skips, nil
}
