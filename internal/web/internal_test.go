package web

import (
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
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
	h := &handler{key: []byte("fuzz key"), ttl: time.Hour, now: time.Now}
	exp := "4102444800" // 2100-01-01
	f.Add(exp + ".cg_token." + h.mac("session", exp, "cg_token") + "x")
	f.Add("")
	f.Add("..")
	f.Add("1.2.3.4")
	f.Add(exp + ".cg_a.b.c")
	f.Fuzz(func(t *testing.T, v string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Cookie", sessionCookie+"="+v)
		if c, err := r.Cookie(sessionCookie); err == nil {
			e, rest, ok1 := cut(c.Value)
			if ok1 {
				tok, sum, ok2 := lastCut(rest)
				if ok2 && equalSecret(sum, h.mac("session", e, tok)) {
					t.Skip("a validly signed value")
				}
			}
		}
		if _, _, err := h.session(r); err == nil {
			t.Fatalf("%q opened a session", v)
		}
	})
}

func cut(s string) (string, string, bool) {
	for i := range len(s) {
		if s[i] == '.' {
			return s[:i], s[i+1:], true
		}
	}
	return "", "", false
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
		if got := nextEvent(sh); got != c.want {
			t.Errorf("%s at leg %d (test %v): %q, want %q", c.status, c.leg, c.test, got, c.want)
		}
	}
	// A shipment that never leaves its country only clears customs.
	if got := nextEvent(domain.Shipment{Route: []string{"US"}, Status: domain.ShipAtOrigin}); got != "Cleared customs in US" {
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
