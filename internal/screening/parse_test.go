package screening_test

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/chipgate/chipgate/internal/screening"
)

const sdnCSV = "36,\"AEROCARIBBEAN AIRLINES\",-0- ,\"CUBA\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n" +
	"306,\"BANCO NACIONAL DE CUBA\",-0- ,\"CUBA\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,\"a.k.a. 'BNC'.\"\r\n" +
	"not-a-number,\"BROKEN\",-0- \r\n" +
	"9639,\"HANIYA, Ismail Abdul Salah\",\"individual\",\"NS-PLC] [SDGT\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,\"DOB 1962; POB Shati; nationality Palestinian.\"\r\n" +
	"\x1a"

const addCSV = "36,25,-0- ,\"Havana\",\"Cuba\",-0- \r\n306,199,\"Zweierstrasse 35\",\"Zurich CH-8022\",\"Switzerland\",-0- \r\n"
const altCSV = "36,12,\"aka\",\"AERO-CARIBBEAN\",-0- \r\n"
const commentsCSV = "306,\"Also known for its long remarks.\"\r\n"

func TestParseOFACLegacy(t *testing.T) {
	ents, skips := screening.ParseOFACLegacy(screening.OFACLegacy{
		List:    "SDN",
		Primary: strings.NewReader(sdnCSV), PrimaryName: "sdn.csv",
		Addresses: strings.NewReader(addCSV), AddrName: "add.csv",
		Aliases: strings.NewReader(altCSV), AltName: "alt.csv",
		Comments: strings.NewReader(commentsCSV), CommentsN: "sdn_comments.csv",
	})
	if len(ents) != 3 {
		t.Fatalf("got %d entities, want 3: %+v", len(ents), ents)
	}
	if len(skips) != 1 || skips[0].Line != 3 || skips[0].File != "sdn.csv" {
		t.Errorf("skips = %+v, want one at sdn.csv:3", skips)
	}
	byKey := map[string]screening.Entity{}
	for _, e := range ents {
		byKey[e.Key] = e
	}
	aero := byKey["ofac:36"]
	if aero.Type != screening.TypeEntity || aero.Name != "AEROCARIBBEAN AIRLINES" || len(aero.Aliases) != 1 || aero.Addresses[0].Country != "CU" {
		t.Errorf("entity 36 = %+v", aero)
	}
	bnc := byKey["ofac:306"]
	if len(bnc.Aliases) != 1 || bnc.Aliases[0] != "BNC" || !strings.Contains(bnc.Remarks, "long remarks") || bnc.Sources[0].List != "SDN" || bnc.Sources[0].ID != "306" {
		t.Errorf("entity 306 = %+v", bnc)
	}
	h := byKey["ofac:9639"]
	if h.Type != screening.TypeIndividual || len(h.Programs) != 2 || len(h.Dates) != 1 || h.Dates[0] != "1962" || len(h.Countries) != 1 || h.Countries[0] != "PS" {
		t.Errorf("entity 9639 = %+v", h)
	}
}

func TestParseOFACLegacyConsolidatedListCodes(t *testing.T) {
	prim := "17016,\"GAZPROMBANK\",-0- ,\"UKRAINE-EO13662] [RUSSIA-EO14024\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n" +
		"30947,\"HUAWEI TECHNOLOGIES CO., LTD.\",-0- ,\"CMIC-EO13959\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n"
	ents, _ := screening.ParseOFACLegacy(screening.OFACLegacy{Primary: strings.NewReader(prim), PrimaryName: "cons_prim.csv"})
	if len(ents) != 2 || ents[0].Sources[0].List != "SSI" || ents[1].Sources[0].List != "CMIC" {
		t.Errorf("lists = %+v", ents)
	}
}

const cslHeader = "_id,source,entity_number,type,programs,name,title,addresses,federal_register_notice,start_date,end_date,standard_order,license_requirement,license_policy,call_sign,vessel_type,gross_tonnage,gross_registered_tonnage,vessel_flag,vessel_owner,remarks,source_list_url,alt_names,citizenships,dates_of_birth,nationalities,places_of_birth,source_information_url,ids\n"

const cslRows = cslHeader + cslHeader + // the 2023-11 file repeats its header
	"d05d,Entity List (EL) - Bureau of Industry and Security,,,,\"Huawei Technologies Co., Ltd. (Huawei)\",,\"Bantian Huawei Base, Longgang District, Shenzhen, 518129, CN\",84 FR 22963,2019-05-21,,,,,,,,,,,,,,,,,,,\n" +
	"21944,Specially Designated Nationals (SDN) - Treasury Department,21944,Individual,SYRIA,\"'ABBAS, Rim\",,SY,,,,,,,,,,,,,,,\"'ABBAS, Reem\",\"\",1973-03-25,SY,\"\",,\"Passport, N0001234, SY; National ID No., 1234, SY\"\n" +
	"11476,Specially Designated Nationals (SDN) - Treasury Department,11476,Individual,SDNT,\"BERMUDEZ SUAZA, Pedro Antonio\",\"\",\"c/o ASES DE COMPETENCIA Y CIA. S.A., Medellin, CO; Camino a San Mateo 41, edificio Mackenzie, la Cuspide departament"

// TestContentHash: a screening decision is kept until the listed entry's
// content changes. Fingerprint covers the names and the lists' ids; the
// content hash also covers every other fact the officer read.
func TestContentHash(t *testing.T) {
	base := screening.Entity{Name: "Acme Trading", Aliases: []string{"Acme"}, Programs: []string{"SDGT"}, IDs: []string{"Reg, 1, CN"},
		Addresses: []screening.Address{{City: "Shenzhen", Country: "CN"}}, Remarks: "r",
		Sources: []screening.Source{{List: "SDN", ID: "1", Name: "ACME TRADING", Notice: "84 FR 1"}}}
	clone := func(f func(e *screening.Entity)) screening.Entity {
		e := base
		e.Aliases, e.Programs, e.IDs = slices.Clone(e.Aliases), slices.Clone(e.Programs), slices.Clone(e.IDs)
		e.Addresses, e.Sources = slices.Clone(e.Addresses), slices.Clone(e.Sources)
		f(&e)
		return e
	}
	h := base.ContentHash()
	if same := clone(func(e *screening.Entity) {}); same.ContentHash() != h {
		t.Fatal("the same entry hashes differently")
	}
	for name, change := range map[string]func(e *screening.Entity){
		"program":  func(e *screening.Entity) { e.Programs = append(e.Programs, "CMIC") },
		"address":  func(e *screening.Entity) { e.Addresses[0].City = "Beijing" },
		"id":       func(e *screening.Entity) { e.IDs[0] = "Reg, 2, CN" },
		"remarks":  func(e *screening.Entity) { e.Remarks = "r2" },
		"notice":   func(e *screening.Entity) { e.Sources[0].Notice = "85 FR 2" },
		"alias":    func(e *screening.Entity) { e.Aliases = append(e.Aliases, "Acme Ltd") },
		"listname": func(e *screening.Entity) { e.Sources[0].Name = "ACME TRADING CO" },
	} {
		c := clone(change)
		if c.ContentHash() == h {
			t.Errorf("%s changed, the content hash did not", name)
		}
	}
	if c := clone(func(e *screening.Entity) { e.Programs = append(e.Programs, "CMIC") }); c.Fingerprint() != base.Fingerprint() {
		t.Error("a new program changed the fingerprint (names and ids only)")
	}
}

func TestParseCSL(t *testing.T) {
	check := func(t *testing.T, ents []screening.Entity, skips []screening.Skip, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) != 2 {
			t.Fatalf("got %d entities, want 2", len(ents))
		}
		if len(skips) != 1 || skips[0].Line != 5 {
			t.Errorf("skips = %+v, want the cut-off record at line 5", skips)
		}
		el := ents[0]
		if el.Sources[0].List != "EL" || el.Name != "Huawei Technologies Co., Ltd." || len(el.Aliases) != 1 || el.Countries[0] != "CN" || el.Key != "" {
			t.Errorf("EL row = %+v", el)
		}
		sdn := ents[1]
		if sdn.Key != "ofac:21944" || sdn.Type != screening.TypeIndividual || sdn.Aliases[0] != "'ABBAS, Reem" || sdn.Sources[0].ID != "21944" {
			t.Errorf("SDN row = %+v", sdn)
		}
		// What an officer adjudicating a hit reads: the identifiers and the
		// Federal Register citation.
		if want := []string{"Passport, N0001234, SY", "National ID No., 1234, SY"}; !slices.Equal(sdn.IDs, want) {
			t.Errorf("SDN ids = %q, want %q", sdn.IDs, want)
		}
		if el.Sources[0].Notice != "84 FR 22963" {
			t.Errorf("EL Federal Register citation = %q", el.Sources[0].Notice)
		}
	}
	t.Run("Plain", func(t *testing.T) {
		ents, skips, err := screening.ParseCSL(strings.NewReader(cslRows), "csl.csv")
		check(t, ents, skips, err)
	})
	t.Run("Gzip", func(t *testing.T) {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write([]byte(cslRows))
		zw.Close()
		ents, skips, err := screening.ParseCSL(&buf, "csl.csv.gz")
		check(t, ents, skips, err)
	})
	t.Run("ErrEmpty", func(t *testing.T) {
		if _, _, err := screening.ParseCSL(strings.NewReader(""), "empty.csv"); err == nil {
			t.Error("empty file: no error")
		}
	})
}

func TestParseDPL(t *testing.T) {
	in := "\"Name\"\t\"Street_Address\"\t\"City\"\t\"State\"\t\"Country\"\t\"Postal_Code\"\t\"Effective_Date\"\t\"Expiration_Date\"\t\"Standard_Order\"\t\"Last_Update\"\t\"Action\"\t\"FR_Citation\"\n" +
		"\"AARON ABRAHAM VILLA\"\t\"3415 RIVERA AVENUE\"\t\"EL PASO\"\t\"TX\"\t\"US\"\t\"79905\"\t\"08/24/2022\"\t\"01/14/2026\"\t\"Y\"\t\"2022-08-29\"\t\"F.R. NOTICE ADDED\"\t\"87 F.R. 52741 8/29/2022\"\n" +
		"\"SHORT\"\n"
	ents, skips, err := screening.ParseDPL(strings.NewReader(in), "dpl.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name != "AARON ABRAHAM VILLA" || ents[0].Addresses[0].City != "EL PASO" || ents[0].Countries[0] != "US" || ents[0].Sources[0].List != "DPL" {
		t.Errorf("entities = %+v", ents)
	}
	if len(skips) != 1 || skips[0].Line != 3 {
		t.Errorf("skips = %+v, want line 3", skips)
	}
}

const unXML = `<?xml version="1.0" encoding="UTF-8"?>
<CONSOLIDATED_LIST dateGenerated="2026-02-27T00:00:09.554Z">
<INDIVIDUALS>
<INDIVIDUAL><DATAID>6907993</DATAID><FIRST_NAME>ERIC</FIRST_NAME><SECOND_NAME>BADEGE</SECOND_NAME><UN_LIST_TYPE>DRC</UN_LIST_TYPE><REFERENCE_NUMBER>CDi.001</REFERENCE_NUMBER><LISTED_ON>2012-12-31</LISTED_ON>
<NATIONALITY><VALUE>Democratic Republic of the Congo</VALUE></NATIONALITY>
<INDIVIDUAL_ALIAS><QUALITY>a.k.a.</QUALITY><ALIAS_NAME>Eric Badege Mugisha</ALIAS_NAME></INDIVIDUAL_ALIAS>
<INDIVIDUAL_ADDRESS><COUNTRY>Rwanda</COUNTRY></INDIVIDUAL_ADDRESS>
<INDIVIDUAL_DATE_OF_BIRTH><TYPE_OF_DATE>EXACT</TYPE_OF_DATE><YEAR>1971</YEAR></INDIVIDUAL_DATE_OF_BIRTH>
</INDIVIDUAL>
</INDIVIDUALS>
<ENTITIES>
<ENTITY><DATAID>6908024</DATAID><FIRST_NAME>BUTEMBO AIRLINES (BAL)</FIRST_NAME><UN_LIST_TYPE>DRC</UN_LIST_TYPE><REFERENCE_NUMBER>CDe.002</REFERENCE_NUMBER>
<ENTITY_ADDRESS><CITY>Butembo</CITY><COUNTRY>Democratic Republic of the Congo</COUNTRY></ENTITY_ADDRESS></ENTITY>
<ENTITY><DATAID>1</DATAID><FIRST_NAME>CUT OFF`

func TestParseUN(t *testing.T) {
	ents, skips, err := screening.ParseUN(strings.NewReader(unXML), "un.xml")
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 2 {
		t.Fatalf("got %d entities, want 2", len(ents))
	}
	eric, bal := ents[0], ents[1]
	if eric.Key != "UN:CDi.001" || eric.Name != "ERIC BADEGE" || eric.Type != screening.TypeIndividual || len(eric.Aliases) != 1 || eric.Dates[0] != "1971" {
		t.Errorf("individual = %+v", eric)
	}
	if bal.Name != "BUTEMBO AIRLINES" || len(bal.Aliases) != 1 || bal.Aliases[0] != "BAL" || bal.Countries[0] != "CD" {
		t.Errorf("entity = %+v", bal)
	}
	if len(skips) != 1 || skips[0].Line < 14 {
		t.Errorf("skips = %+v, want the cut-off entity reported with its line", skips)
	}
}

const enhancedXML = `<?xml version="1.0" encoding="utf-8"?>
<sanctionsData xmlns="https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/ENHANCED_XML">
<entities>
<entity id="9639">
<generalInfo><identityId>1978</identityId><entityType refId="600">Individual</entityType></generalInfo>
<sanctionsLists><sanctionsList refId="91243">Non-SDN Palestinian Legislative Council List</sanctionsList><sanctionsList refId="91512">Consolidated List</sanctionsList></sanctionsLists>
<sanctionsPrograms><sanctionsProgram refId="91055">NS-PLC</sanctionsProgram></sanctionsPrograms>
<names>
<name id="17177"><isPrimary>true</isPrimary><translations><translation id="1978"><isPrimary>true</isPrimary><formattedFullName>HANIYA, Ismail Abdul Salah</formattedFullName></translation></translations></name>
<name id="9150"><isPrimary>false</isPrimary><translations><translation id="10142"><isPrimary>true</isPrimary><formattedFullName>HANIYA, Ismail</formattedFullName></translation></translations></name>
</names>
<addresses><address id="12128"><country refId="91021">Palestinian</country><translations><translation id="8255"><isPrimary>true</isPrimary>
<addressParts><addressPart id="19316"><type refId="1455">STATE/PROVINCE</type><value>Gaza</value></addressPart></addressParts></translation></translations></address></addresses>
<features><feature id="4696"><type featureTypeId="8">Birthdate</type><value>1962</value></feature></features>
</entity>
</entities>
</sanctionsData>`

func TestParseOFACEnhanced(t *testing.T) {
	check := func(t *testing.T, ents []screening.Entity, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) != 1 {
			t.Fatalf("got %d entities", len(ents))
		}
		e := ents[0]
		if e.Key != "ofac:9639" || e.Name != "HANIYA, Ismail Abdul Salah" || len(e.Aliases) != 1 || e.Sources[0].List != "PLC" ||
			e.Addresses[0].State != "Gaza" || e.Countries[0] != "PS" || e.Dates[0] != "1962" || e.Type != screening.TypeIndividual {
			t.Errorf("entity = %+v", e)
		}
	}
	t.Run("XML", func(t *testing.T) {
		ents, _, err := screening.ParseOFACEnhancedXML(strings.NewReader(enhancedXML), "x.xml")
		check(t, ents, err)
	})
	t.Run("Zip", func(t *testing.T) {
		ents, _, err := screening.ParseOFACEnhancedZip(zipOf(t, "CONS_ENHANCED.XML", enhancedXML), "x.zip")
		check(t, ents, err)
	})
	t.Run("ErrNotZip", func(t *testing.T) {
		if _, _, err := screening.ParseOFACEnhancedZip([]byte("PK\x03\x04garbage"), "bad.zip"); err == nil {
			t.Error("no error for a broken zip")
		}
	})
}

func zipOf(t *testing.T, name, content string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(content))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestLoadFS(t *testing.T) {
	fsys := fstest.MapFS{
		"a/sdn.csv":                {Data: []byte(sdnCSV)},
		"a/add.csv":                {Data: []byte(addCSV)},
		"a/alt.csv":                {Data: []byte(altCSV)},
		"deep/er/whatever.data":    {Data: []byte(cslRows)}, // recognized by content, not name
		"un/list.xml":              {Data: []byte(unXML)},
		"enhanced/CONS.ZIP":        {Data: zipOf(t, "CONS_ENHANCED.XML", enhancedXML)},
		"broken/CONS_ENHANCED.ZIP": {Data: []byte("PK\x03\x04 not really a zip")},
		"README.md":                {Data: []byte("# lists\n")},
	}
	ds, err := screening.LoadFS(fsys)
	if err != nil {
		t.Fatal(err)
	}
	r := ds.Report
	if len(r.Unrecognized) != 1 || r.Unrecognized[0] != "README.md" {
		t.Errorf("unrecognized = %q", r.Unrecognized)
	}
	formats := map[string]screening.FileReport{}
	for _, f := range r.Files {
		formats[f.Path] = f
	}
	if f := formats["deep/er/whatever.data"]; f.Format != screening.FormatCSL || f.Records != 2 || len(f.Skipped) != 1 {
		t.Errorf("CSL report = %+v", f)
	}
	if f := formats["broken/CONS_ENHANCED.ZIP"]; f.Error == "" {
		t.Errorf("broken zip not reported: %+v", f)
	}
	if f := formats["a/sdn.csv"]; f.Records != 3 || len(f.Sidecars) != 2 {
		t.Errorf("OFAC report = %+v", f)
	}
	// 9639 comes from sdn.csv and the enhanced XML: one entity, two sources.
	var haniya *screening.Entity
	for i := range ds.Entities {
		if ds.Entities[i].Key == "ofac:9639" {
			haniya = &ds.Entities[i]
		}
	}
	if haniya == nil || len(haniya.Sources) != 2 {
		t.Errorf("ofac:9639 not folded across formats: %+v", haniya)
	}
	if !strings.Contains(r.String(), "not a list file I recognize") {
		t.Errorf("report text does not mention the unrecognized file:\n%s", r)
	}
}

func TestLoadFSErrNothing(t *testing.T) {
	_, err := screening.LoadFS(fstest.MapFS{"notes.txt": {Data: []byte("hello")}})
	if err == nil {
		t.Fatal("no error for a directory without lists")
	}
}

func TestFoldAcrossLists(t *testing.T) {
	recs := []screening.Entity{
		{Key: "ofac:30947", Type: screening.TypeEntity, Name: "HUAWEI TECHNOLOGIES CO., LTD.", Sources: []screening.Source{{List: "CMIC", ID: "30947", Line: 1}}},
		{Name: "Huawei Technologies Co., Ltd.", Aliases: []string{"Huawei"}, Sources: []screening.Source{{List: "EL", ID: "d05d", Line: 2}}},
		{Name: "Huawei Technologies Co., Ltd.", Addresses: []screening.Address{{City: "Chengdu"}}, Sources: []screening.Source{{List: "EL", ID: "1a3c", Line: 3}}},
		{Key: "ofac:1", Type: screening.TypeIndividual, Name: "SMITH, John", Sources: []screening.Source{{List: "SDN", ID: "1", Line: 4}}},
		{Type: screening.TypeIndividual, Name: "SMITH, John", Sources: []screening.Source{{List: "DTC", ID: "x", Line: 5}}},
	}
	out := screening.Fold(recs)
	if len(out) != 3 {
		t.Fatalf("got %d entities, want 3 (Huawei folded; namesakes kept apart): %+v", len(out), out)
	}
	h := out[0]
	if len(h.Sources) != 3 || len(h.Addresses) != 1 || len(h.Aliases) != 1 || h.PrimarySource().List != "EL" {
		t.Errorf("folded Huawei = %+v", h)
	}
}

func TestFingerprint(t *testing.T) {
	base := screening.Entity{Name: "X Co", Aliases: []string{"A", "B"}, Sources: []screening.Source{{List: "EL", ID: "1", Name: "X Co", File: "a.csv"}, {List: "SDN", ID: "2", Name: "X CO"}}}
	reordered := base
	reordered.Aliases = []string{"B", "A"}
	reordered.Sources = []screening.Source{base.Sources[1], {List: "EL", ID: "1", Name: "X Co", File: "other/place.csv", Line: 9}}
	changed := base
	changed.Aliases = []string{"A", "B", "C"}
	if base.Fingerprint() != reordered.Fingerprint() {
		t.Error("fingerprint depends on order or file location")
	}
	if base.Fingerprint() == changed.Fingerprint() {
		t.Error("fingerprint ignores a new alias")
	}
}

func TestFoldKeepsDigitsAndScripts(t *testing.T) {
	recs := []screening.Entity{
		{Name: "Research Institute No. 1", Sources: []screening.Source{{List: "EL", ID: "a", Line: 1}}},
		{Name: "Research Institute No. 2", Sources: []screening.Source{{List: "EL", ID: "b", Line: 2}}},
		{Key: "UN:1", Name: "SADDAM HUSSEIN AL-TIKRITI", Aliases: []string{"صدام حسين التكريتي", "قصي صدام حسين التكريتي"}, Sources: []screening.Source{{List: "UN", ID: "1", Line: 3}}},
	}
	out := screening.Fold(recs)
	if len(out) != 3 {
		t.Fatalf("got %d entities, want 3: numbered names must stay apart", len(out))
	}
	if len(out[2].Aliases) != 2 {
		t.Errorf("non-Latin aliases collapsed: %q", out[2].Aliases)
	}
}

// TestListVersions: an index names the version of each list it holds; the
// same entities in another order give the same versions, a changed entity
// another digest for its list only.
func TestListVersions(t *testing.T) {
	ents, _, err := screening.ParseCSL(strings.NewReader(cslRows), "csl.csv")
	if err != nil {
		t.Fatal(err)
	}
	v := screening.NewIndex(slices.Clone(ents)).Versions()
	if len(v) != 2 || v[0].List != "SDN" || v[1].List != "EL" || v[1].Entities != 1 || v[1].Newest != "2019-05-21" || v[0].Digest == "" {
		t.Fatalf("versions %+v", v)
	}
	rev := slices.Clone(ents)
	slices.Reverse(rev)
	if w := screening.NewIndex(rev).Versions(); !slices.Equal(w, v) {
		t.Fatalf("reordered: %+v, want %+v", w, v)
	}
	changed := slices.Clone(ents)
	changed[0].Remarks += " amended"
	w := screening.NewIndex(changed).Versions()
	if w[1].Digest == v[1].Digest || w[0] != v[0] {
		t.Fatalf("one EL entity changed: %+v, was %+v", w, v)
	}
}
