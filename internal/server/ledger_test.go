package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chipgate/chipgate/internal/chipgatetest"
	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/ledger"
	"github.com/chipgate/chipgate/internal/store/storetest"
)

// lastIndex returns the index of the newest audit record.
func (e *env) lastIndex() int64 {
	e.t.Helper()
	return chipgatetest.AuditSize(e.t, e.st) - 1
}

func everyRole(status int) func(domain.Role) int { return every(status) }

var ledgerMatrix = map[string]matrixEntry{
	// The tlog-tiles routes: the checkpoint and hash tiles for anyone, entry
	// bundles (every party's payloads) for the export authority only.
	"GET /checkpoint": same(probe{"GET", "/checkpoint", nil, everyRole(200)}),
	"GET /tile/{path...}": func(e *env, _ domain.Role) (probe, probe) {
		return probe{"GET", "/tile/0/000.p/3", nil, everyRole(200)}, probe{"GET", "/tile/1/000", nil, everyRole(404)}
	},
	"GET /tile/entries/{path...}":           same(probe{"GET", "/tile/entries/000.p/3", nil, only(200, domain.RoleExportAuthority)}),
	"GET /api/v1/ledger/checkpoint":         same(probe{"GET", "/api/v1/ledger/checkpoint", nil, everyRole(200)}),
	"GET /api/v1/ledger/key":                same(probe{"GET", "/api/v1/ledger/key", nil, everyRole(200)}),
	"GET /api/v1/ledger/proofs/inclusion":   same(probe{"GET", "/api/v1/ledger/proofs/inclusion?index=3", nil, everyRole(200)}),
	"GET /api/v1/ledger/proofs/consistency": same(probe{"GET", "/api/v1/ledger/proofs/consistency?from=3", nil, everyRole(200)}),
	"GET /api/v1/ledger/leaves":             same(probe{"GET", "/api/v1/ledger/leaves?start=0&end=10", nil, everyRole(200)}),
	"GET /api/v1/ledger/entries/{index}/public": same(probe{"GET", "/api/v1/ledger/entries/3/public", nil,
		only(200, domain.RoleAuditor, domain.RoleExportAuthority, domain.RoleImportAuthority)}),
	"GET /api/v1/ledger/entries/{index}": func(e *env, role domain.Role) (probe, probe) {
		// An entry the role's own party wrote, and one the operator wrote.
		e.must(actorOf[role], "POST", "/api/v1/tokens", map[string]any{"label": "ledger matrix"}, 201)
		own := e.lastIndex()
		return probe{"GET", fmt.Sprintf("/api/v1/ledger/entries/%d", own), nil, func(r domain.Role) int {
				if r == domain.RoleAuditor {
					return 403
				}
				return 200
			}},
			probe{"GET", "/api/v1/ledger/entries/0", nil, func(r domain.Role) int {
				switch r {
				case domain.RoleAuditor:
					return 403
				case domain.RoleExportAuthority:
					return 200
				}
				return 404
			}}
	},
}

// TestLedgerProofsVerifyAgainstTheCheckpoint: what an auditor does with the
// API alone: take the key and a checkpoint, fetch proofs, verify them.
func TestLedgerProofsVerifyAgainstTheCheckpoint(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		f := e.fixtures() // applications, licenses, permits, orders: many entries
		_ = f
		e.sign()
		_, rawKey, _ := e.do("auditor", "GET", "/api/v1/ledger/key", nil)
		v, err := ledger.ParseVerifierKey(string(rawKey))
		if err != nil {
			t.Fatal(err)
		}
		var cpv struct {
			Checkpoint string `json:"checkpoint"`
			Size       uint64 `json:"size"`
		}
		_, raw, _ := e.do("auditor", "GET", "/api/v1/ledger/checkpoint", nil)
		if err := json.Unmarshal(raw, &cpv); err != nil {
			t.Fatal(err)
		}
		cp, err := ledger.OpenCheckpoint([]byte(cpv.Checkpoint), v)
		if err != nil || cp.Size != cpv.Size || cp.Size < 20 {
			t.Fatalf("checkpoint %+v: %v", cp, err)
		}
		// Every entry's inclusion proof verifies against the signed root,
		// with the leaf hash recomputed from the record the holder has.
		for i := uint64(0); i < cp.Size; i += 7 {
			_, raw, _ := e.do("us-commerce", "GET", fmt.Sprintf("/api/v1/ledger/proofs/inclusion?index=%d&tree_size=%d", i, cp.Size), nil)
			p, err := ledger.DecodeInclusionProof(raw)
			if err != nil {
				t.Fatalf("proof %d: %v (%s)", i, err, raw)
			}
			_, rawRec, _ := e.do("us-commerce", "GET", fmt.Sprintf("/api/v1/ledger/entries/%d", i), nil)
			var rec domain.AuditRecord
			if err := json.Unmarshal(rawRec, &rec); err != nil {
				t.Fatal(err)
			}
			leaf, err := ledger.LeafHash(&rec)
			if err != nil {
				t.Fatal(err)
			}
			if err := ledger.VerifyInclusion(i, cp.Size, leaf, p.Hashes, cp.Root); err != nil {
				t.Fatalf("entry %d does not verify: %v", i, err)
			}
			// A changed payload does not.
			rec.Payload = append(rec.Payload[:len(rec.Payload)-1:len(rec.Payload)-1], ' ')
			bad, _ := ledger.LeafHash(&rec)
			if ledger.VerifyInclusion(i, cp.Size, bad, p.Hashes, cp.Root) == nil {
				t.Fatalf("a changed entry %d verified", i)
			}
		}
		// Grow the log, sign again; the new checkpoint is consistent.
		e.must("bytedance", "POST", "/api/v1/orders", map[string]any{"product": "h200", "quantity": 1, "requested_period": "2026-03-02", "end_use": "commercial_ai"}, 201)
		e.sign()
		_, raw, _ = e.do("auditor", "GET", "/api/v1/ledger/checkpoint", nil)
		_ = json.Unmarshal(raw, &cpv)
		cp2, err := ledger.OpenCheckpoint([]byte(cpv.Checkpoint), v)
		if err != nil || cp2.Size <= cp.Size {
			t.Fatalf("second checkpoint %+v: %v", cp2, err)
		}
		_, raw, _ = e.do("auditor", "GET", fmt.Sprintf("/api/v1/ledger/proofs/consistency?from=%d&to=%d", cp.Size, cp2.Size), nil)
		cproof, err := ledger.DecodeConsistencyProof(raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := ledger.CheckConsistency(cp, cp2, cproof.Hashes); err != nil {
			t.Fatalf("consistency: %v", err)
		}
		// No proof from the empty tree.
		if status, body, _ := e.do("auditor", "GET", "/api/v1/ledger/proofs/consistency?from=0", nil); status != 422 || !strings.Contains(string(body), "empty tree") {
			t.Fatalf("proof from size 0: %d %s", status, body)
		}
		// The auditor sees hashes, never payloads.
		if status, _, _ := e.do("auditor", "GET", "/api/v1/ledger/entries/1", nil); status != http.StatusForbidden {
			t.Fatalf("auditor reading an entry: %d", status)
		}
		// The whole log verifies.
		sum, err := e.svc.VerifyLog(context.Background())
		if err != nil || sum.Size != cp2.Size || sum.Checkpoints < 2 {
			t.Fatalf("verify: %+v %v", sum, err)
		}
	})
}
