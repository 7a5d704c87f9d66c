package server_test

import (
	"strings"
	"testing"

	"github.com/chipgate/chipgate/internal/chipgatetest"
	"github.com/chipgate/chipgate/internal/server"
	"github.com/chipgate/chipgate/internal/service"
	"github.com/chipgate/chipgate/internal/store/storetest"
)

// TestBadInputOnShippingRoutes sends hostile bodies to every shipping and
// telemetry POST: each gets a 4xx application/problem+json (naming the
// field where there is one) and writes nothing: no audit record, no
// shipment, no custody event, no test. Each route is then shown to accept
// a good body, so the refusals were the input's doing.
func TestBadInputOnShippingRoutes(t *testing.T) {
	e := newEnv(t, storetest.Backends()[0])
	e.cnCustomer()
	order := e.order("us-cloud-a", "h200", 10, "commercial_ai")["id"].(string)
	atOrigin := e.shipmentOf("us-cloud-a", 1, 100)
	atLab := e.shipmentOf("bytedance", 1, 100)
	e.event(atLab, "picked_up", "TW")
	e.event(atLab, "arrived", "US")
	e.event(atLab, "customs_cleared", "US")

	type route struct {
		party, path, good string
		status            int // of the good body
	}
	routes := map[string]route{
		"shipments": {"nvidia", "/api/v1/shipments",
			`{"order":"` + order + `","lot":"TW-H200-2025-12-01","serials":["SN-INPUT-1"],"unit_value":{"minor":100,"currency":"USD"},"carriers":["carrier"],"lab":"us-testlab"}`, 201},
		"events":    {"carrier", "/api/v1/shipments/" + atOrigin + "/events", `{"kind":"picked_up","country":"TW","place":"Hsinchu"}`, 200},
		"lab-tests": {"us-testlab", "/api/v1/shipments/" + atLab + "/lab-tests", `{"throughput":[{"bits":8,"dense_tops":1979}],"bandwidth_gbps":4800}`, 200},
		"checkins":  {"nvidia", "/api/v1/checkins", `{"serial":"SN-INPUT-2","site":0,"country":"US"}`, 201},
	}
	// Hostile bodies every route must refuse alike.
	common := []struct {
		name, ct, body string
		status         int
		field          string
	}{
		{"UnknownField", "application/json", `{"sneaky":1}`, 422, "sneaky"},
		{"Malformed", "application/json", `{"kind":`, 400, ""},
		{"Empty", "application/json", ``, 400, ""},
		{"NotAnObject", "application/json", `["picked_up"]`, 422, "(body)"},
		{"TwoValues", "application/json", `{} {}`, 400, ""},
		{"NotJSON", "text/plain", `{}`, 415, ""},
		{"NoContentType", "", `{}`, 415, ""},
		{"FormEncoded", "application/x-www-form-urlencoded", `kind=picked_up`, 415, ""},
		{"InvalidUTF8", "application/json", "{\"place\":\"\xff\xfe\",\"serial\":\"\xc0\"}", 400, ""},
		{"Oversize", "application/json", `{"place":"` + strings.Repeat("a", server.MaxBodyBytes) + `"}`, 413, ""},
		{"DeepNesting", "application/json", strings.Repeat(`{"a":`, 100000) + "1" + strings.Repeat("}", 100000), 400, ""},
		{"DeepArrays", "application/json", strings.Repeat("[", 100000) + strings.Repeat("]", 100000), 400, ""},
		{"NullBytes", "application/json", "{\"kind\":\"picked_up\x00\"}", 400, ""},
	}
	// Bodies that parse but a route must refuse on their values.
	specific := map[string][]struct {
		name, body string
		status     int
		field      string
	}{
		"shipments": {
			{"NotAnOrderID", `{"order":"'; DROP TABLE shipments; --","lot":"TW-H200-2025-12-01","serials":["A"],"unit_value":{"minor":1,"currency":"USD"},"carriers":["carrier"],"lab":"us-testlab"}`, 422, "order"},
			{"NoSerials", `{"order":"` + order + `","lot":"TW-H200-2025-12-01","serials":[],"unit_value":{"minor":1,"currency":"USD"},"carriers":["carrier"],"lab":"us-testlab"}`, 422, "serials"},
			{"SerialTwice", `{"order":"` + order + `","lot":"TW-H200-2025-12-01","serials":["A","A"],"unit_value":{"minor":1,"currency":"USD"},"carriers":["carrier"],"lab":"us-testlab"}`, 422, "serials[1]"},
			{"SerialNotPrintable", `{"order":"` + order + `","lot":"TW-H200-2025-12-01","serials":["A\u0000B"],"unit_value":{"minor":1,"currency":"USD"},"carriers":["carrier"],"lab":"us-testlab"}`, 422, "serials[0]"},
			{"SerialUnicode", `{"order":"` + order + `","lot":"TW-H200-2025-12-01","serials":["Ａ１"],"unit_value":{"minor":1,"currency":"USD"},"carriers":["carrier"],"lab":"us-testlab"}`, 422, "serials[0]"},
			{"TooManySerials", `{"order":"` + order + `","lot":"TW-H200-2025-12-01","serials":[` + strings.Repeat(`"S",`, service.MaxShipmentUnits) + `"S"],"unit_value":{"minor":1,"currency":"USD"},"carriers":["carrier"],"lab":"us-testlab"}`, 422, "serials"},
			{"NegativeValue", `{"order":"` + order + `","lot":"TW-H200-2025-12-01","serials":["A"],"unit_value":{"minor":-1,"currency":"USD"},"carriers":["carrier"],"lab":"us-testlab"}`, 422, "unit_value"},
			{"ValueOverflows", `{"order":"` + order + `","lot":"TW-H200-2025-12-01","serials":["A","B"],"unit_value":{"minor":9223372036854775807,"currency":"USD"},"carriers":["carrier"],"lab":"us-testlab"}`, 422, "unit_value"},
			{"ValueTooBig", `{"order":"` + order + `","lot":"TW-H200-2025-12-01","serials":["A"],"unit_value":{"minor":1e400,"currency":"USD"},"carriers":["carrier"],"lab":"us-testlab"}`, 422, "unit_value.minor"},
			{"FractionalValue", `{"order":"` + order + `","lot":"TW-H200-2025-12-01","serials":["A"],"unit_value":{"minor":1.5,"currency":"USD"},"carriers":["carrier"],"lab":"us-testlab"}`, 422, "unit_value.minor"},
			{"UnknownLot", `{"order":"` + order + `","lot":"TW-NOPE","serials":["A"],"unit_value":{"minor":1,"currency":"USD"},"carriers":["carrier"],"lab":"us-testlab"}`, 422, "lot"},
		},
		"events": {
			{"UnknownKind", `{"kind":"teleported","country":"TW","place":"x"}`, 422, "kind"},
			{"BadCountry", `{"kind":"picked_up","country":"tw","place":"x"}`, 422, "country"},
			{"NoPlace", `{"kind":"picked_up","country":"TW","place":"   "}`, 422, "place"},
			{"LongPlace", `{"kind":"picked_up","country":"TW","place":"` + strings.Repeat("é", 150) + `"}`, 422, "place"},
			{"KindNotString", `{"kind":7,"country":"TW","place":"x"}`, 422, "kind"},
		},
		"lab-tests": {
			{"NoThroughput", `{"throughput":[],"bandwidth_gbps":4800}`, 422, ""},
			{"NegativeBandwidth", `{"throughput":[{"bits":8,"dense_tops":1979}],"bandwidth_gbps":-1}`, 422, ""},
			{"BandwidthOverflows", `{"throughput":[{"bits":8,"dense_tops":1979}],"bandwidth_gbps":99999999999999999999}`, 422, "bandwidth_gbps"},
			{"ThroughputNotArray", `{"throughput":{"bits":8},"bandwidth_gbps":4800}`, 422, "throughput"},
		},
		"checkins": {
			{"BadSerial", `{"serial":"../../etc/passwd","site":0,"country":"US"}`, 422, "serial"},
			{"BadCountry", `{"serial":"SN-1","site":0,"country":"USA"}`, 422, "country"},
			{"NegativeSite", `{"serial":"SN-1","site":-1,"country":"US"}`, 422, "site"},
			{"UnknownLandmark", `{"serial":"SN-1","site":0,"country":"US","rtt_ms":{"atlantis":3}}`, 422, "rtt_ms.atlantis"},
			{"RTTTooBig", `{"serial":"SN-1","site":0,"country":"US","rtt_ms":{"atlantis":1e400}}`, 422, "rtt_ms"},
			{"RTTNegative", `{"serial":"SN-1","site":0,"country":"US","rtt_ms":{"frankfurt":-3}}`, 422, ""},
		},
	}
	post := func(t *testing.T, r route, path, ct, body string) (int, server.Problem, string) {
		t.Helper()
		resp, err := e.api.Send(r.party, "POST", path, body, chipgatetest.Header("Content-Type", ct))
		if err != nil {
			t.Fatal(err)
		}
		var p server.Problem
		_ = resp.Decode(&p)
		return resp.Status, p, resp.Header.Get("Content-Type")
	}
	// written is what a refused request must leave alone.
	type state struct{ audit, shipments, events, tests int64 }
	written := func() state {
		t.Helper()
		_, raw, _ := e.do("nvidia", "GET", "/api/v1/shipments?limit=500", nil)
		var views []map[string]any
		if err := jsonItems(raw, &views); err != nil {
			t.Fatal(err)
		}
		s := state{audit: e.lastIndex(), shipments: int64(len(views))}
		for _, v := range views {
			s.events += int64(len(v["events"].([]any)))
			if v["test"] != nil {
				s.tests++
			}
		}
		return s
	}
	check := func(t *testing.T, r route, path, ct, body string, status int, field string) {
		t.Helper()
		before := written()
		got, p, gotCT := post(t, r, path, ct, body)
		if got != status || p.Status != status || gotCT != "application/problem+json" {
			t.Fatalf("status %d (problem %d, %q): %+v; want %d", got, p.Status, gotCT, p, status)
		}
		if field != "" && (len(p.Errors) == 0 || p.Errors[0].Path != field) {
			t.Fatalf("errors = %+v, want the field %q named", p.Errors, field)
		}
		if after := written(); after != before {
			t.Fatalf("a refused request wrote something: %+v, before %+v", after, before)
		}
	}
	for name, r := range routes {
		t.Run(name, func(t *testing.T) {
			for _, c := range common {
				t.Run(c.name, func(t *testing.T) { check(t, r, r.path, c.ct, c.body, c.status, c.field) })
			}
			for _, c := range specific[name] {
				t.Run(c.name, func(t *testing.T) { check(t, r, r.path, "application/json", c.body, c.status, c.field) })
			}
			if strings.Contains(r.path, "/shipments/") {
				t.Run("BadPathID", func(t *testing.T) {
					path := strings.Replace(r.path, strings.Split(r.path, "/")[4], "not-an-id", 1)
					got, p, ct := post(t, r, path, "application/json", r.good)
					if got < 400 || got > 499 || p.Status != got || ct != "application/problem+json" {
						t.Fatalf("status %d (problem %d, %q)", got, p.Status, ct)
					}
				})
			}
			t.Run("GoodBody", func(t *testing.T) {
				if got, p, _ := post(t, r, r.path, "application/json", r.good); got != r.status {
					t.Fatalf("the good body: %d %+v", got, p)
				}
			})
		})
	}
}
