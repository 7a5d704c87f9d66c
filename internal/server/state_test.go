package server_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chipgate/chipgate/internal/chipgatetest"
	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/ledger"
	"github.com/chipgate/chipgate/internal/server"
	"github.com/chipgate/chipgate/internal/service"
	"github.com/chipgate/chipgate/internal/store/storetest"
)

// TestTamperedStateOverHTTP: an order over the API that would read a
// license changed behind the program's back (its ref column) is answered
// 500 with the problem type state_tampered and decides nothing; the
// metric counts it, and an alert awaits the export authority.
func TestTamperedStateOverHTTP(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		e := chipgatetest.New(t, chipgatetest.OnBackend(b), chipgatetest.WithStory())
		c := e.Serve(server.Options{})
		order := map[string]any{"product": "h200", "quantity": 1, "requested_period": "2026-03-02", "end_use": "commercial_ai"}
		if r := c.Do("bytedance", "POST", "/api/v1/orders", order); r.Status != 201 {
			t.Fatalf("an order on intact state: %d %s", r.Status, r.Body)
		}
		raw := storetest.OpenRaw(t, e.DSN)
		if raw.Exec(t, "UPDATE licenses SET ref = 'forged' WHERE party_id = (SELECT id FROM parties WHERE slug = 'bytedance')") == 0 {
			t.Fatal("bytedance holds no license")
		}
		before := chipgatetest.AuditSize(t, e.Store)
		r := c.Do("bytedance", "POST", "/api/v1/orders", order)
		var p server.Problem
		if err := r.Decode(&p); err != nil || r.Status != 500 || p.Type != "tag:chipgate,2026:problem:state_tampered" || !strings.Contains(p.Detail, "disagrees with its ledger") {
			t.Fatalf("an order on tampered state: %d %s", r.Status, r.Body)
		}
		if got := chipgatetest.AuditSize(t, e.Store); got != before+1 { // the alert's record
			t.Fatalf("%d records, want the alert's only", got-before)
		}
		if m := c.Do("us-commerce", "GET", "/metrics", nil); !strings.Contains(string(m.Body), `chipgate_state_tampered_total{table="licenses"} 1`) {
			t.Fatalf("metrics lack the tampered row")
		}
		if a := c.Do("us-commerce", "GET", "/api/v1/alerts", nil); a.Status != 200 || !strings.Contains(string(a.Body), `"kind":"state_tampered"`) {
			t.Fatalf("alerts: %d %s", a.Status, a.Body)
		}
	})
}

// TestWhatEachPartyReads: the auditor reads the public part of any entry —
// kind, time, actor role, the objects it changed — with a leaf hash and an
// inclusion proof that verify against the signed checkpoint, and never the
// payload or who acted; a buyer reads every record about its own license
// and permit, whoever wrote them, and not another buyer's.
func TestWhatEachPartyReads(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		e := chipgatetest.New(t, chipgatetest.OnBackend(b), chipgatetest.WithStory())
		e.Sign()
		c := e.Serve(server.Options{})
		raw := storetest.OpenRaw(t, e.DSN)
		index := func(q string) int64 {
			t.Helper()
			var i int64
			if err := raw.DB.QueryRow(raw.Q(q)).Scan(&i); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			return i
		}
		owned := "(SELECT CAST(id AS TEXT) FROM %s WHERE party_id = (SELECT id FROM parties WHERE slug = 'bytedance') ORDER BY created_at LIMIT 1)"
		licIssued := index("SELECT MIN(idx) FROM audit_log WHERE action = 'license.issued' AND subject_id = " + fmt.Sprintf(owned, "licenses"))
		permitGranted := index("SELECT MIN(idx) FROM audit_log WHERE subject_type = 'permit' AND subject_id = " + fmt.Sprintf(owned, "permits"))
		order := index("SELECT MIN(idx) FROM audit_log WHERE action = 'order.accepted' AND actor_party = 'bytedance'")

		// A buyer reads what the authorities wrote about its own grants.
		for _, i := range []int64{licIssued, permitGranted} {
			r := c.Do("bytedance", "GET", fmt.Sprintf("/api/v1/ledger/entries/%d", i), nil)
			var rec domain.AuditRecord
			if err := r.Decode(&rec); err != nil || r.Status != 200 || rec.ActorParty == "bytedance" || len(rec.Payload) == 0 {
				t.Fatalf("bytedance reading entry %d: %d %s", i, r.Status, r.Body)
			}
			if r := c.Do("alibaba", "GET", fmt.Sprintf("/api/v1/ledger/entries/%d", i), nil); r.Status != 404 {
				t.Fatalf("alibaba reading bytedance's entry %d: %d", i, r.Status)
			}
		}

		// The auditor: the public part only, and a proof that verifies.
		if r := c.Do("auditor", "GET", fmt.Sprintf("/api/v1/ledger/entries/%d", order), nil); r.Status != 403 {
			t.Fatalf("the auditor reading a payload: %d", r.Status)
		}
		r := c.Do("auditor", "GET", fmt.Sprintf("/api/v1/ledger/entries/%d/public", order), nil)
		var pub service.PublicEntry
		if err := r.Decode(&pub); err != nil || r.Status != 200 {
			t.Fatalf("public entry: %d %s", r.Status, r.Body)
		}
		body := string(r.Body)
		for _, secret := range []string{"bytedance", "payload", "remaining", "quantity", "end_use"} {
			if strings.Contains(body, secret) {
				t.Fatalf("the public entry shows %q: %s", secret, body)
			}
		}
		tables := map[string]bool{}
		for _, o := range pub.Objects {
			tables[o.Type] = true
		}
		if pub.Kind != "order.accepted" || pub.ActorRole != "buyer" || pub.Subject.Type != "order" || !tables["orders"] || !tables["licenses"] || !tables["order_volumes"] || pub.Proof == nil {
			t.Fatalf("public entry %+v", pub)
		}
		vkey := c.Do("auditor", "GET", "/api/v1/ledger/key", nil)
		v, err := ledger.ParseVerifierKey(string(vkey.Body))
		if err != nil {
			t.Fatal(err)
		}
		var cpv struct {
			Checkpoint string `json:"checkpoint"`
		}
		if err := c.Do("auditor", "GET", "/api/v1/ledger/checkpoint", nil).Decode(&cpv); err != nil {
			t.Fatal(err)
		}
		cp, err := ledger.OpenCheckpoint([]byte(cpv.Checkpoint), v)
		if err != nil {
			t.Fatal(err)
		}
		var leaf ledger.Hash
		if err := leaf.UnmarshalText([]byte(pub.LeafHash)); err != nil {
			t.Fatal(err)
		}
		if pub.Proof.TreeSize != cp.Size || ledger.VerifyInclusion(uint64(order), cp.Size, leaf, pub.Proof.Hashes, cp.Root) != nil {
			t.Fatalf("the public entry's proof does not verify against checkpoint %d", cp.Size)
		}
		// Buyers read no public parts of others' entries.
		if r := c.Do("bytedance", "GET", fmt.Sprintf("/api/v1/ledger/entries/%d/public", order), nil); r.Status != 403 {
			t.Fatalf("a buyer reading public parts: %d", r.Status)
		}
		// A record changed after it was signed is not served as if it were.
		raw.Exec(t, "UPDATE audit_log SET actor_role = 'vendor' WHERE idx = ?", order)
		if r := c.Do("auditor", "GET", fmt.Sprintf("/api/v1/ledger/entries/%d/public", order), nil); r.Status != 500 || !strings.Contains(string(r.Body), "state_tampered") {
			t.Fatalf("a changed record: %d %s", r.Status, r.Body)
		}
	})
}
