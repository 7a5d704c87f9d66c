package web

import (
	"context"
	"math"
	"math/big"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
)

func TestCSVCellDefusesFormulas(t *testing.T) {
	for in, want := range map[string]string{
		"=HYPERLINK(\"x\")": "'=HYPERLINK(\"x\")", "+1 call": "'+1 call", "@SUM(A1)": "'@SUM(A1)", "-x": "'-x",
		"-5": "-5", "+3.5": "+3.5", "ByteDance": "ByteDance", "": "", "\tx": "'\tx",
	} {
		if got := csvCell(in); got != want {
			t.Errorf("csvCell(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzSessionCookie: no cookie value that the key did not sign reaches the
// service (the handler here has none, so reaching it would panic), and none
// panics the parser.
func FuzzSessionCookie(f *testing.F) {
	h := &handler{key: []byte("fuzz key")}
	f.Add("cgs_secret." + h.mac("session", "cgs_secret") + "x")
	f.Add("")
	f.Add("..")
	f.Add("1.2.3.4")
	f.Add("cgs_a.b.c")
	f.Fuzz(func(t *testing.T, v string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Cookie", sessionCookie+"="+v)
		if c, err := r.Cookie(sessionCookie); err == nil {
			if secret, sum, ok := lastCut(c.Value); ok && equalSecret(sum, h.mac("session", secret)) {
				t.Skip("a validly signed value")
			}
		}
		if _, _, err := h.session(r); err == nil {
			t.Fatalf("%q opened a session", v)
		}
	})
}

func lastCut(s string) (string, string, bool) {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '.' {
			return s[:i], s[i+1:], true
		}
	}
	return "", "", false
}

// TestNextEvent: the carrier's hint follows a shipment along TW → US → CN,
// waiting for a passing lab test before it leaves the lab's country.
func TestNextEvent(t *testing.T) {
	route := []string{"TW", "US", "CN"}
	pass, fail := &domain.LabTest{Pass: true}, &domain.LabTest{Pass: false}
	for _, c := range []struct {
		status domain.ShipmentStatus
		leg    int
		test   *domain.LabTest
		want   string
	}{
		{domain.ShipAtOrigin, 0, nil, "Picked up (a leg starts) in TW"},
		{domain.ShipInTransit, 0, nil, "Arrived at a stop in US"},
		{domain.ShipArrived, 1, nil, "Cleared customs in US"},
		{domain.ShipCleared, 1, nil, "a passing lab test in US, then Picked up (a leg starts)"},
		{domain.ShipCleared, 1, fail, "a passing lab test in US, then Picked up (a leg starts)"},
		{domain.ShipCleared, 1, pass, "Picked up (a leg starts) in US"},
		{domain.ShipInTransit, 1, pass, "Arrived at a stop in CN"},
		{domain.ShipCleared, 2, pass, "Delivered to the licensed site in CN"},
		{domain.ShipDelivered, 2, pass, ""},
	} {
		sh := domain.Shipment{Route: route, Leg: c.leg, Status: c.status, LabRequired: "shipment.lab-test", LabCountry: "US", Test: c.test}
		if got := nextEvent(localeIn(context.Background()), sh); got != c.want {
			t.Errorf("%s at leg %d (test %v): %q, want %q", c.status, c.leg, c.test, got, c.want)
		}
	}
	// Drawn on a license and a permit, the export leg waits for the export
	// authority, and the destination's customs are the import authority's.
	license := domain.ID{1}
	sh := domain.Shipment{Route: route, Leg: 1, Status: domain.ShipCleared, LabRequired: "shipment.lab-test", LabCountry: "US", Test: pass, LicenseID: &license, PermitID: &license}
	if got := nextEvent(localeIn(context.Background()), sh); got != "Cleared for export by the export authority in US, then Picked up (a leg starts)" {
		t.Errorf("awaiting export clearance: %q", got)
	}
	sh.ExportClearance = &domain.CustodyEvent{Kind: "export_cleared"}
	if got := nextEvent(localeIn(context.Background()), sh); got != "Picked up (a leg starts) in US" {
		t.Errorf("cleared for export: %q", got)
	}
	sh.Leg, sh.Status = 2, domain.ShipArrived
	if got := nextEvent(localeIn(context.Background()), sh); !strings.Contains(got, "by the import authority") {
		t.Errorf("at Chinese customs: %q", got)
	}
	// A shipment that never leaves its country only clears customs.
	if got := nextEvent(localeIn(context.Background()), domain.Shipment{Route: []string{"US"}, Status: domain.ShipAtOrigin}); got != "Cleared customs in US" {
		t.Errorf("a domestic shipment: %q", got)
	}
}

// TestParseLabTest: throughput fields in bit order, empty ones skipped, and
// a message for each unreadable field.
func TestParseLabTest(t *testing.T) {
	id := "0190a000-0000-7000-8000-000000000000"
	got, err := parseLabTest(url.Values{"shipment": {id}, "tops_16": {"989.5"}, "tops_8": {" 1979 "}, "tops_4": {""}, "bandwidth_gbps": {"4800"}})
	if err != nil || got.Shipment.String() != id || got.Test.BandwidthGBps != 4800 ||
		len(got.Test.Throughput) != 2 || got.Test.Throughput[0] != (domain.Throughput{Bits: 8, DenseTOPS: 1979}) || got.Test.Throughput[1].Bits != 16 {
		t.Fatalf("parseLabTest = %+v, %v", got, err)
	}
	for name, f := range map[string]url.Values{
		"Choose a shipment to test.":                {"tops_8": {"1"}, "bandwidth_gbps": {"1"}},
		"Dense TOPS at 8 bits must be a number.":    {"shipment": {id}, "tops_8": {"x"}, "bandwidth_gbps": {"1"}},
		"The form has an unknown throughput field.": {"shipment": {id}, "tops_x": {"1"}, "bandwidth_gbps": {"1"}},
		"Bandwidth must be a whole number of GB/s.": {"shipment": {id}, "tops_8": {"1"}, "bandwidth_gbps": {"1.5"}},
	} {
		if _, err := parseLabTest(f); domain.ErrorCode(err) != domain.EINVALID || domain.ErrorMessage(err) != name {
			t.Errorf("%v: %v, want EINVALID %q", f, err, name)
		}
	}
}

func TestParseAmount(t *testing.T) {
	for in, want := range map[string]int64{
		"30000": 3_000_000, "30000.00": 3_000_000, "30000.5": 3_000_050, " 12.34 ": 1234, ".5": 50, "1.": 100,
		// Half away from zero, as domain.Money.Apply rounds: half a cent is a cent.
		"0.005": 1, "12.345": 1235, "12.3449999": 1234, "1.995": 200, "29999.995": 3_000_000,
		"92233720368547758.07": math.MaxInt64,
	} {
		got, err := parseAmount(in, 2)
		if err != nil || got != want {
			t.Errorf("parseAmount(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	// The currency's own minor unit: yen have none, Kuwaiti dinars thousandths.
	for _, c := range []struct {
		in     string
		digits int
		want   int64
	}{{"4500000", 0, 4_500_000}, {"4500000.5", 0, 4_500_001}, {"1.2345", 3, 1235}, {"0.0005", 3, 1}} {
		if got, err := parseAmount(c.in, c.digits); err != nil || got != c.want {
			t.Errorf("parseAmount(%q, %d) = %d, %v; want %d", c.in, c.digits, got, err, c.want)
		}
	}
	if _, err := parseAmount("0.4", 0); err == nil || !strings.Contains(domain.ErrorMessage(err), "at least 1 ") {
		t.Errorf("0.4 yen: %v", err)
	}
	for _, in := range []string{"", " ", ".", "abc", "30,000", "30000,50", "1e5", "-1", "+1", "1.2.3", "0", "0.00", "0.0049",
		"92233720368547758.08", "1/2", "0x10", "Inf", "NaN", "١٢"} {
		if got, err := parseAmount(in, 2); err == nil || domain.ErrorCode(err) != domain.EINVALID || !strings.HasPrefix(domain.ErrorMessage(err), "Unit value") {
			t.Errorf("parseAmount(%q) = %d, %v; want an EINVALID naming the unit value", in, got, err)
		}
	}
}

func TestParseShipment(t *testing.T) {
	id := "0190a000-0000-7000-8000-000000000000"
	f := url.Values{"order": {id}, "lot": {" TW-1 "}, "serials": {"SN-1\r\n\r\n  SN-2  \nSN-3\n"}, "unit_value": {"100.005"}, "currency": {"usd"}, "carriers": {"carrier, carrier-b"}, "lab": {" us-testlab "}}
	got, err := parseShipment(f)
	if err != nil {
		t.Fatal(err)
	}
	want := service.ShipmentRequest{Order: id, Lot: "TW-1", Serials: []string{"SN-1", "SN-2", "SN-3"}, UnitValue: domain.Money{Minor: 10001, Currency: "USD"},
		Carriers: []string{"carrier", "carrier-b"}, Lab: "us-testlab"}
	if got.Read != 3 || got.Request.Order != want.Order || got.Request.Lot != want.Lot || !slices.Equal(got.Request.Serials, want.Serials) || got.Request.UnitValue != want.UnitValue ||
		!slices.Equal(got.Request.Carriers, want.Carriers) || got.Request.Lab != want.Lab {
		t.Fatalf("parseShipment = %+v, want %+v", got, want)
	}
	for field, bad := range map[string]url.Values{
		"Order":          {"order": {"SH-1"}},
		"Lot":            {"lot": {" "}},
		"Serial numbers": {"serials": {"\n \n"}},
		"Currency":       {"currency": {"US$"}},
		"Unit value":     {"unit_value": {"1,5"}},
	} {
		g := url.Values{}
		for k, v := range f {
			g[k] = v
		}
		for k, v := range bad {
			g[k] = v
		}
		if _, err := parseShipment(g); err == nil || !strings.HasPrefix(domain.ErrorMessage(err), field+":") {
			t.Errorf("bad %s: %v", field, err)
		}
	}
}

func TestCustomerMovesFollowTheLifecycle(t *testing.T) {
	for from, want := range map[domain.ApplicationStatus][]string{
		domain.AppApproved: {"suspend", "revoke"}, domain.AppSuspended: {"reinstate", "revoke"},
		domain.AppRevoked: nil, domain.AppSubmitted: nil,
	} {
		if got := customerMoves(from); !slices.Equal(got, want) {
			t.Errorf("customerMoves(%s) = %v, want %v", from, got, want)
		}
	}
}

// FuzzParseAmount: whatever is typed, an amount read is positive, within
// half a cent of the decimal typed, and reads back the same from the way
// the pages write it.
func FuzzParseAmount(f *testing.F) {
	for i, s := range []string{"30000", "0.005", "12.345", "1.", ".5", "92233720368547758.07", "1e5", "-1", "0.0049", "00000.0050000"} {
		f.Add(s, uint8(i))
	}
	// A currency for each number of decimals ISO 4217 uses.
	currencies := []string{"JPY", "USD", "KWD", "CLF"}
	f.Fuzz(func(t *testing.T, s string, pick uint8) {
		currency := currencies[int(pick)%len(currencies)]
		digits := domain.MinorDigits(currency)
		minor, err := parseAmount(s, digits)
		if err != nil {
			if domain.ErrorCode(err) != domain.EINVALID {
				t.Fatalf("parseAmount(%q): %v", s, err)
			}
			return
		}
		if minor <= 0 {
			t.Fatalf("parseAmount(%q) = %d", s, minor)
		}
		typed, ok := new(big.Rat).SetString(strings.TrimSpace(s))
		if !ok {
			t.Fatalf("parseAmount(%q) read what big.Rat does not", s)
		}
		scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(digits)), nil)
		diff := new(big.Rat).Sub(typed.Mul(typed, new(big.Rat).SetInt(scale)), new(big.Rat).SetInt64(minor))
		if diff.Abs(diff).Cmp(big.NewRat(1, 2)) > 0 {
			t.Fatalf("parseAmount(%q, %d) = %d minor units, %s away", s, digits, minor, diff.FloatString(4))
		}
		written := domain.Money{Minor: minor, Currency: currency}.String()
		if back, err := parseAmount(strings.TrimPrefix(written, currency+" "), digits); err != nil || back != minor {
			t.Fatalf("%q read as %d, written %q, read back as %d (%v)", s, minor, written, back, err)
		}
	})
}

func TestErrorTextNamesEachFieldOnce(t *testing.T) {
	l := localeIn(context.Background())
	if got := l.ErrText(domain.Invalid("reason", "required to suspend")); got != "Reason: required to suspend" {
		t.Errorf("one field: %q", got)
	}
	err := &domain.Error{Code: domain.EINVALID, Message: "2 problems", Fields: []domain.FieldError{{Path: "a", Message: "x"}, {Path: "serials[1]", Message: "y"}}}
	if got := l.ErrText(err); got != "2 problems; a: x; serial 2: y" {
		t.Errorf("two fields: %q", got)
	}
}

// TestMoneyAndCSV: defects — amounts showed as "USD 2160000.00", CSV money
// was text a spreadsheet cannot sum, and CSVs lacked a byte-order mark
// (tested with the downloads). Pages group thousands; the CSV writes an
// amount column as plain numbers followed by a column of their currency.
func TestMoneyAndCSV(t *testing.T) {
	for m, want := range map[domain.Money]string{
		{Minor: 216000000, Currency: "USD"}:  "USD 2,160,000.00",
		{Minor: 99, Currency: "USD"}:         "USD 0.99",
		{Minor: -123456789, Currency: "USD"}: "USD -1,234,567.89",
		{Minor: 1000, Currency: "JPY"}:       "JPY 1,000",
		{}:                                   "—",
	} {
		if got := money(m); got != want {
			t.Errorf("money(%+v) = %q, want %q", m, got, want)
		}
	}
	tb := &table{Head: []string{"Shipment", "Invoice", "Mixed", "Units", "Note"}, Rows: [][]string{
		{"SH-1", "USD 2,160,000.00", "USD 1.00", "3,000", "=cmd"},
		{"SH-2", "—", "EUR 2.00", "12", "-5"},
	}}
	head, rows := csvTable(tb, localeIn(context.Background()))
	if want := []string{"Shipment", "Invoice", "Invoice: currency", "Mixed", "Mixed: currency", "Units", "Note"}; !slices.Equal(head, want) {
		t.Errorf("head = %q, want %q", head, want)
	}
	if want := [][]string{{"SH-1", "2160000.00", "USD", "1.00", "USD", "3000", "'=cmd"}, {"SH-2", "", "", "2.00", "EUR", "12", "-5"}}; !slices.EqualFunc(rows, want, slices.Equal) {
		t.Errorf("rows = %q, want %q", rows, want)
	}
	if tb.Rows[0][1] != "USD 2,160,000.00" {
		t.Error("csvTable changed the page's table")
	}
}
