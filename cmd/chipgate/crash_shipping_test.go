package main_test

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
)

// shippingLoad is the crash test's shipping workload: the vendor puts units
// of two accepted orders (a US and a Chinese buyer's) into shipments, the
// carrier and the lab move every shipment along its route, and the vendor's
// telemetry checks devices in. Every request carries an Idempotency-Key;
// one that got no answer (the server died) is retried with its key after
// the restart, as a client would, until it gets a definitive one. The load
// remembers every acknowledged write, so that after the crashes the test
// can ask for each of them.
type shippingLoad struct {
	url    string
	tokens map[string]string // party slug → bearer token
	orders []domain.Order    // the accepted orders shipped from, US first
	lots   []string          // the lots shipped from
	client *http.Client

	mu sync.Mutex
	// known is the newest state of every shipment the load has seen.
	known map[domain.ID]domain.Shipment
	// Acknowledged writes: shipments created, the events each had in the
	// newest acknowledged answer, lab tests, check-ins.
	created  map[domain.ID]domain.Shipment
	events   map[domain.ID]int
	tested   map[domain.ID]bool
	checkins map[domain.ID]bool
	// pending are the requests that got no answer, to retry with their key.
	pending []request
	// ghosts are the check-ins of never-shipped serials (one serial per
	// request), by serial: true once a retry or the first attempt was
	// answered "done" (stored exactly once), false while unanswered or
	// refused (stored at most once).
	ghosts map[string]bool
	// retried counts the retries by outcome.
	retried map[string]int
	// attempts numbers the custody-event and lab-test requests.
	attempts atomic.Int64
}

// request is one POST of the load.
type request struct {
	party, path, key string
	body             map[string]any
}

func newShippingLoad(tokens map[string]string) *shippingLoad {
	return &shippingLoad{tokens: tokens, client: &http.Client{Timeout: 20 * time.Second},
		lots:  []string{"TW-H200-2025-12-01", "TW-H200-2025-12-08", "TW-H200-2025-12-15"},
		known: map[domain.ID]domain.Shipment{}, created: map[domain.ID]domain.Shipment{}, events: map[domain.ID]int{},
		tested: map[domain.ID]bool{}, checkins: map[domain.ID]bool{}, ghosts: map[string]bool{}, retried: map[string]int{}}
}

// call sends a request as party; err is set only when no answer came (the
// server died under the request: nothing was acknowledged).
func (l *shippingLoad) call(party, method, path, key string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, l.url+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	req.Header.Set("Authorization", "Bearer "+l.tokens[party])
	resp, err := l.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err // a cut-off answer acknowledges nothing
	}
	return resp.StatusCode, raw, nil
}

// get reads path as the vendor into out.
// get reads every item of a list read into out, page by page.
func (l *shippingLoad) get(path string, out any) error {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	next := path + sep + "limit=500"
	var items []json.RawMessage
	for next != "" {
		status, raw, err := l.call("nvidia", "GET", next, "", nil)
		if err != nil {
			return err
		}
		if status != 200 {
			return fmt.Errorf("GET %s: status %d", next, status)
		}
		var page struct {
			Items []json.RawMessage `json:"items"`
			Next  string            `json:"next"`
		}
		if err := json.Unmarshal(raw, &page); err != nil {
			return err
		}
		items, next = append(items, page.Items...), page.Next
	}
	raw, err := json.Marshal(items)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, out)
}

// post sends r; on no answer it keeps r to retry after the restart, and
// reports false.
func (l *shippingLoad) post(r request) (int, []byte, bool) {
	status, raw, err := l.call(r.party, "POST", r.path, r.key, r.body)
	if err != nil {
		l.mu.Lock()
		l.pending = append(l.pending, r)
		l.mu.Unlock()
		return 0, nil, false
	}
	if status < 300 {
		l.acknowledged(r, raw)
	}
	return status, raw, true
}

// acknowledged records what a 2xx answer to r says was written.
func (l *shippingLoad) acknowledged(r request, raw []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r.path == "/api/v1/checkins" {
		var res struct{ CheckIn domain.CheckIn }
		if json.Unmarshal(raw, &res) == nil {
			l.checkins[res.CheckIn.ID] = true
			if _, ok := l.ghosts[res.CheckIn.Serial]; ok {
				l.ghosts[res.CheckIn.Serial] = true
			}
		}
		return
	}
	var sh domain.Shipment
	if json.Unmarshal(raw, &sh) != nil {
		return
	}
	if r.path == "/api/v1/shipments" {
		l.created[sh.ID] = sh
	}
	if prev, ok := l.known[sh.ID]; !ok || len(sh.Events) >= len(prev.Events) {
		l.known[sh.ID] = sh
	}
	l.events[sh.ID] = max(l.events[sh.ID], len(sh.Events))
	if sh.Test != nil {
		l.tested[sh.ID] = true
	}
}

// retry resends every request that got no answer, with its key. It reports
// false when the server died again.
func (l *shippingLoad) retry() bool {
	l.mu.Lock()
	todo := l.pending
	l.pending = nil
	l.mu.Unlock()
	for i, r := range todo {
		status, raw, err := l.call(r.party, "POST", r.path, r.key, r.body)
		outcome := ""
		switch {
		case err != nil:
			l.mu.Lock()
			l.pending = append(l.pending, todo[i:]...)
			l.mu.Unlock()
			return false
		case status < 300:
			l.acknowledged(r, raw)
			outcome = "answered"
		case status == 409 && strings.Contains(string(raw), "still in flight"):
			l.mu.Lock()
			l.pending = append(l.pending, r) // the lease has not run out
			l.mu.Unlock()
			outcome = "in flight"
		case status == 409 && strings.Contains(string(raw), "was carried out"):
			outcome = "carried out"
			if serial, ok := r.body["serial"].(string); ok {
				l.mu.Lock()
				if _, ghost := l.ghosts[serial]; ghost {
					l.ghosts[serial] = true
				}
				l.mu.Unlock()
			}
		default:
			outcome = "refused"
		}
		l.mu.Lock()
		l.retried[outcome]++
		l.mu.Unlock()
	}
	return true
}

// setUp finds the accepted orders to ship from (once, on the first start).
func (l *shippingLoad) setUp(t *testing.T) {
	t.Helper()
	var orders []domain.Order
	if err := l.get("/api/v1/orders?status=accepted", &orders); err != nil {
		t.Fatalf("accepted orders: %v", err)
	}
	for _, buyer := range []string{"us-cloud-a", "bytedance"} {
		i := slices.IndexFunc(orders, func(o domain.Order) bool { return o.Buyer == buyer && o.Quantity > 10000 })
		if i < 0 {
			t.Fatalf("the demo has no large accepted order of %s", buyer)
		}
		l.orders = append(l.orders, orders[i])
	}
}

// refresh reads every shipment's state: a write that was cut off by a kill
// may have committed.
func (l *shippingLoad) refresh() error {
	var all []domain.Shipment
	if err := l.get("/api/v1/shipments", &all); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, sh := range all {
		l.known[sh.ID] = sh
	}
	return nil
}

// run drives the workload until the deadline or the server's death: first
// the retries of what got no answer, then one vendor creating shipments,
// two carriers (each with its half of the shipments, taking the lab's part
// when a shipment waits for its test) and one device checking in.
func (l *shippingLoad) run(round int, until time.Time) {
	if !l.retry() || l.refresh() != nil {
		return
	}
	var wg sync.WaitGroup
	wg.Add(4)
	go func() { defer wg.Done(); l.ship(round, until) }()
	go func() { defer wg.Done(); l.carry(0, until) }()
	go func() { defer wg.Done(); l.carry(1, until) }()
	go func() { defer wg.Done(); l.checkIn(round, until) }()
	wg.Wait()
}

func (l *shippingLoad) ship(round int, until time.Time) {
	for i := 0; time.Now().Before(until); i++ {
		// Two US shipments for every Chinese one, so that the CN+MO cap
		// (against units exported to US end users) leaves room.
		o := l.orders[0]
		if i%3 == 2 {
			o = l.orders[1]
		}
		serials := make([]string, 1+i%3)
		for k := range serials {
			serials[k] = fmt.Sprintf("CR-%d-%d-%d", round, i, k)
		}
		if _, _, ok := l.post(request{"nvidia", "/api/v1/shipments", fmt.Sprintf("ship-%d-%d", round, i), map[string]any{"order": o.ID, "lot": l.lots[i%len(l.lots)],
			"serials": serials, "unit_value": map[string]any{"minor": 2_500_000 + i, "currency": "USD"}, "carriers": []string{"carrier"}, "lab": "us-testlab"}}); !ok {
			return
		}
	}
}

// step is the next request that moves a shipment along: a custody event,
// or the lab's test; ok is false when the shipment has arrived for good (or
// failed its test). Its key names the shipment and the step; each attempt
// adds its own number (a refused step, such as a pick-up over the CN+MO
// cap, is tried again later as a new request).
func step(sh domain.Shipment) (request, bool) {
	last := len(sh.Route) - 1
	here := sh.Route[sh.Leg]
	event := func(kind, country string) (request, bool) {
		who := "carrier" // the export authority clears exports, China's import authority its customs
		switch {
		case kind == "export_cleared":
			who = "us-commerce"
		case kind == "customs_cleared" && (country == "CN" || country == "MO"):
			who = "cn-mofcom"
		}
		return request{who, "/api/v1/shipments/" + sh.ID.String() + "/events", fmt.Sprintf("%s-%d-%s", sh.ID, len(sh.Events), kind),
			map[string]any{"kind": kind, "country": country, "place": "crash hub " + country}}, true
	}
	switch sh.Status {
	case domain.ShipAtOrigin:
		return event("picked_up", here)
	case domain.ShipInTransit:
		return event("arrived", sh.Route[sh.Leg+1])
	case domain.ShipArrived:
		return event("customs_cleared", here)
	case domain.ShipCleared:
		if sh.Leg == last {
			return event("delivered", here)
		}
		if sh.LabRequired != "" && here == sh.LabCountry {
			if sh.Test == nil {
				return request{"us-testlab", "/api/v1/shipments/" + sh.ID.String() + "/lab-tests", sh.ID.String() + "-test",
					map[string]any{"throughput": []map[string]any{{"bits": 8, "dense_tops": 1979}}, "bandwidth_gbps": 4800}}, true
			}
			if !sh.Test.Pass {
				return request{}, false
			}
		}
		if sh.Leg == last-1 && sh.LicenseID != nil && sh.ExportClearance == nil {
			return event("export_cleared", here)
		}
		return event("picked_up", here)
	}
	return request{}, false
}

// carry moves the shipments of one half along, one step at a time.
func (l *shippingLoad) carry(half int, until time.Time) {
	var refreshed time.Time
	for time.Now().Before(until) {
		l.mu.Lock()
		var todo []domain.Shipment
		for id, sh := range l.known {
			if int(id[15])%2 == half {
				if _, ok := step(sh); ok {
					todo = append(todo, sh)
				}
			}
		}
		l.mu.Unlock()
		if len(todo) == 0 {
			time.Sleep(5 * time.Millisecond)
			continue
		}
		slices.SortFunc(todo, func(a, b domain.Shipment) int { return a.CreatedAt.Compare(b.CreatedAt) })
		for _, sh := range todo {
			if !time.Now().Before(until) {
				return
			}
			r, _ := step(sh)
			r.key += fmt.Sprintf("-%d", l.attempts.Add(1))
			status, _, ok := l.post(r)
			if !ok {
				return
			}
			// A refused check, or a state this load never heard of: read
			// the states again, at most every 100 ms (reading them all is
			// the load's largest cost under -race).
			if status == 409 && time.Since(refreshed) > 100*time.Millisecond {
				if l.refresh() != nil {
					return
				}
				refreshed = time.Now()
			}
		}
	}
}

// checkIn reports delivered devices from their licensed site, and now and
// then a serial never shipped (which raises an alert in the same
// transaction).
func (l *shippingLoad) checkIn(round int, until time.Time) {
	for i := 0; time.Now().Before(until); i++ {
		serial, country := fmt.Sprintf("GHOST-%d-%d", round, i), "CN"
		l.mu.Lock()
		if i%4 != 0 {
			for _, sh := range l.known {
				if sh.Status == domain.ShipDelivered {
					serial, country = sh.Serials[i%len(sh.Serials)], sh.Destination
					break
				}
			}
		}
		if strings.HasPrefix(serial, "GHOST-") {
			l.ghosts[serial] = false
		}
		l.mu.Unlock()
		if _, _, ok := l.post(request{"nvidia", "/api/v1/checkins", fmt.Sprintf("checkin-%d-%d", round, i), map[string]any{"serial": serial, "site": 0, "country": country}}); !ok {
			return
		}
	}
}

// checkAcknowledged asks the restarted server for every acknowledged
// shipment, event and lab test.
func (l *shippingLoad) checkAcknowledged(t *testing.T) {
	t.Helper()
	var all []domain.Shipment
	if err := l.get("/api/v1/shipments", &all); err != nil {
		t.Fatalf("shipments after the crashes: %v", err)
	}
	byID := map[domain.ID]domain.Shipment{}
	for _, sh := range all {
		byID[sh.ID] = sh
	}
	for id, want := range l.created {
		got, ok := byID[id]
		switch {
		case !ok:
			t.Errorf("acknowledged shipment %s is missing", want.Number)
		case got.Lot != want.Lot || got.Quantity != want.Quantity || !slices.Equal(got.Serials, want.Serials) || got.OrderID != want.OrderID:
			t.Errorf("shipment %s changed: %s %d %v, acknowledged %s %d %v", want.Number, got.Lot, got.Quantity, got.Serials, want.Lot, want.Quantity, want.Serials)
		}
	}
	for id, n := range l.events {
		if got := byID[id]; len(got.Events) < n {
			t.Errorf("shipment %s has %d custody events; %d were acknowledged", got.Number, len(got.Events), n)
		}
	}
	for id := range l.tested {
		if byID[id].Test == nil {
			t.Errorf("shipment %s lost its acknowledged lab test", byID[id].Number)
		}
	}
}

// counts summarizes what the workload had acknowledged.
func (l *shippingLoad) counts() string {
	events, delivered := 0, 0
	for id, n := range l.events {
		events += n
		if l.known[id].Status == domain.ShipDelivered {
			delivered++
		}
	}
	return fmt.Sprintf("%d shipments (%d delivered), %d custody events, %d lab tests, %d check-ins; retries with the key: %v",
		len(l.created), delivered, events, len(l.tested), len(l.checkins), l.retried)
}

// checkShippingConsistent reads the stopped server's database directly and
// checks that no shipping write is half there: every shipment, custody
// event, lab test, check-in and alert has its audit record and every such
// record its state; serials, lots, orders, licenses, permits and the
// export counters all agree with the shipments; every acknowledged
// check-in is stored; and no check-in was stored twice however often its
// request was retried (ghosts: serial → answered "done").
func checkShippingConsistent(t *testing.T, db *sql.DB, checkins map[domain.ID]bool, ghosts map[string]bool) {
	t.Helper()
	rows := func(q string, scan func(*sql.Rows) error) {
		t.Helper()
		rs, err := db.Query(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		defer rs.Close()
		for rs.Next() {
			if err := scan(rs); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		if err := rs.Err(); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	docs := func(table string, each func([]byte) error) {
		rows("SELECT doc FROM "+table, func(r *sql.Rows) error {
			var raw []byte
			if err := r.Scan(&raw); err != nil {
				return err
			}
			return each(raw)
		})
	}
	ships := map[string]domain.Shipment{}
	docs("shipments", func(raw []byte) error {
		var sh domain.Shipment
		err := json.Unmarshal(raw, &sh)
		ships[sh.ID.String()] = sh
		return err
	})
	orders := map[domain.ID]domain.Order{}
	docs("orders", func(raw []byte) error {
		var o domain.Order
		err := json.Unmarshal(raw, &o)
		orders[o.ID] = o
		return err
	})
	licenses := map[domain.ID]domain.License{}
	docs("licenses", func(raw []byte) error {
		var x domain.License
		err := json.Unmarshal(raw, &x)
		licenses[x.ID] = x
		return err
	})
	permits := map[domain.ID]domain.ImportPermit{}
	docs("permits", func(raw []byte) error {
		var x domain.ImportPermit
		err := json.Unmarshal(raw, &x)
		permits[x.ID] = x
		return err
	})

	// The audit records of shipping, per subject and action.
	records := map[string]map[string]int{}
	rows(`SELECT action, subject_id FROM audit_log WHERE action LIKE 'shipment.%' OR action IN ('checkin.received', 'checkin.attested', 'alert.raised')`, func(r *sql.Rows) error {
		var action, subject string
		err := r.Scan(&action, &subject)
		if records[subject] == nil {
			records[subject] = map[string]int{}
		}
		records[subject][action]++
		return err
	})
	exported := map[domain.ID]int64{}     // per license
	imported := map[domain.ID]int64{}     // per permit
	fromLot := map[string]int64{}         // per lot number
	fromOrder := map[domain.ID]int64{}    // per order
	var exportedUnits, shippedUnits int64 // all shipments
	for id, sh := range ships {
		rec := records[id]
		if rec["shipment.created"] != 1 {
			t.Errorf("shipment %s has %d shipment.created records", sh.Number, rec["shipment.created"])
		}
		kinds := map[string]int{}
		for _, ev := range sh.Events {
			kinds[ev.Kind]++
		}
		for _, kind := range []string{"picked_up", "arrived", "customs_cleared", "export_cleared", "delivered"} {
			if rec["shipment."+kind] != kinds[kind] {
				t.Errorf("shipment %s has %d %s events and %d records of them", sh.Number, kinds[kind], kind, rec["shipment."+kind])
			}
		}
		if want := map[bool]int{true: 1}[sh.Test != nil]; rec["shipment.tested"] != want {
			t.Errorf("shipment %s: test %v, %d shipment.tested records", sh.Number, sh.Test != nil, rec["shipment.tested"])
		}
		fromLot[sh.Lot] += sh.Quantity
		fromOrder[sh.OrderID] += sh.Quantity
		shippedUnits += sh.Quantity
		o := orders[sh.OrderID]
		last := len(sh.Route) - 1
		for _, ev := range sh.Events {
			// The export leg is cleared by the export authority (which
			// draws the license) or, where it draws none, starts with the
			// pick-up before the last stop; the destination's customs
			// admit the units.
			if (ev.Kind == "export_cleared" || (ev.Kind == "picked_up" && sh.ExportClearance == nil)) && last > 0 && ev.Country == sh.Route[last-1] {
				exportedUnits += sh.Quantity
				if o.LicenseID != nil {
					exported[*o.LicenseID] += sh.Quantity
				}
			}
			if ev.Kind == "customs_cleared" && ev.Country == sh.Route[last] && o.PermitID != nil {
				imported[*o.PermitID] += sh.Quantity
			}
		}
	}
	for subject, rec := range records {
		if _, ok := ships[subject]; !ok && rec["shipment.created"] > 0 {
			t.Errorf("a shipment.created record for shipment %s, which does not exist", subject)
		}
	}

	// Serials: exactly the shipments' serials, each in its shipment.
	serials := map[string]string{}
	rows("SELECT serial, CAST(shipment_id AS TEXT) FROM serials", func(r *sql.Rows) error {
		var sn, id string
		err := r.Scan(&sn, &id)
		serials[sn] = id
		return err
	})
	n := 0
	for id, sh := range ships {
		for _, sn := range sh.Serials {
			n++
			if serials[sn] != id {
				t.Errorf("serial %s of shipment %s is claimed by %q", sn, sh.Number, serials[sn])
			}
		}
	}
	if len(serials) != n {
		t.Errorf("%d serials claimed, %d in shipments", len(serials), n)
	}

	// Lots: what left each lot is what its shipments hold.
	var lotUnits, lotShipped int64
	rows("SELECT number, quantity, shipped FROM lots", func(r *sql.Rows) error {
		var number string
		var qty, shipped int64
		if err := r.Scan(&number, &qty, &shipped); err != nil {
			return err
		}
		lotUnits, lotShipped = lotUnits+qty, lotShipped+shipped
		if shipped != fromLot[number] || shipped > qty {
			t.Errorf("lot %s: %d of %d units drawn, %d in shipments", number, shipped, qty, fromLot[number])
		}
		return nil
	})
	if lotShipped != shippedUnits {
		t.Errorf("lots gave %d units, shipments hold %d", lotShipped, shippedUnits)
	}
	for id, o := range orders {
		if o.Shipped != fromOrder[id] || o.Shipped > o.Quantity {
			t.Errorf("order %s: %d of %d units shipped, %d in shipments", id, o.Shipped, o.Quantity, fromOrder[id])
		}
	}
	for id, l := range licenses {
		if l.Exported != exported[id] || l.Exported > l.Quantity {
			t.Errorf("license %s: %d of %d units exported, %d by the shipments' events", l.Number, l.Exported, l.Quantity, exported[id])
		}
	}
	for id, p := range permits {
		if p.Imported != imported[id] || p.Imported > p.Quantity {
			t.Errorf("permit %s: %d of %d units imported, %d by the shipments' events", p.Number, p.Imported, p.Quantity, imported[id])
		}
	}
	var counted int64
	if err := db.QueryRow("SELECT COALESCE(SUM(units), 0) FROM shipped_volumes").Scan(&counted); err != nil {
		t.Fatal(err)
	}
	if counted != exportedUnits {
		t.Errorf("the export counters hold %d units; the shipments' export legs %d", counted, exportedUnits)
	}

	// Check-ins and alerts: each with its record, every acknowledged one stored.
	stored := map[domain.ID]bool{}
	rows("SELECT CAST(id AS TEXT) FROM checkins", func(r *sql.Rows) error {
		var s string
		if err := r.Scan(&s); err != nil {
			return err
		}
		id, err := domain.ParseID(s)
		stored[id] = true
		return err
	})
	perSerial := map[string]int{}
	rows("SELECT serial FROM checkins", func(r *sql.Rows) error {
		var s string
		err := r.Scan(&s)
		perSerial[s]++
		return err
	})
	for serial, done := range ghosts {
		if n := perSerial[serial]; n > 1 || (done && n != 1) {
			t.Errorf("the check-in of %s is stored %d times; its request was answered done: %v", serial, n, done)
		}
	}
	// Self-reported check-ins (checkin.received) and the demo's attested
	// ones (checkin.attested) each have their record.
	received := 0
	for _, rec := range records {
		received += rec["checkin.received"] + rec["checkin.attested"]
	}
	if received != len(stored) {
		t.Errorf("%d check-ins stored, %d checkin.received and checkin.attested records", len(stored), received)
	}
	for id := range checkins {
		if !stored[id] {
			t.Errorf("acknowledged check-in %s is missing", id)
		}
	}
	alerts := 0
	rows("SELECT CAST(id AS TEXT) FROM alerts", func(r *sql.Rows) error {
		var id string
		err := r.Scan(&id)
		alerts++
		if records[id]["alert.raised"] != 1 {
			t.Errorf("alert %s has %d alert.raised records", id, records[id]["alert.raised"])
		}
		return err
	})
	raised := 0
	for _, rec := range records {
		raised += rec["alert.raised"]
	}
	if raised != alerts {
		t.Errorf("%d alerts stored, %d alert.raised records", alerts, raised)
	}
	if len(ships) == 0 || len(stored) == 0 {
		t.Errorf("the workload wrote %d shipments and %d check-ins: nothing was tested", len(ships), len(stored))
	}
}
