package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"strings"
	"testing"

	"github.com/chipgate/chipgate/internal/chipgatetest"
	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/server"
	"github.com/chipgate/chipgate/internal/service"
	"github.com/chipgate/chipgate/internal/store"
	"github.com/chipgate/chipgate/internal/store/storetest"
)

// TestIdempotencyKeyAfterCrash: a server that dies with a request in flight
// leaves its Idempotency-Key claimed. A retry after the lease runs the
// request if its command never committed (exactly once, even if the first
// attempt comes back to life: it can no longer commit), and says so if it
// did (nothing runs twice). Before the lease, the retry hears "in flight".
func TestIdempotencyKeyAfterCrash(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.usCustomer()
		ctx := context.Background()
		order := e.order("us-cloud-a", "h200", 100, "commercial_ai")["id"].(string)
		nvidia := e.kit.Actor("nvidia")
		// body is a shipment request; claim claims its key as a process
		// that is about to die would have.
		body := func(serial string) (string, service.ShipmentRequest) {
			in := service.ShipmentRequest{Order: order, Lot: "TW-H200-2025-12-01", Serials: []string{serial}, UnitValue: domain.Money{Minor: 100, Currency: "USD"}, Carriers: []string{"carrier"}, Lab: "us-testlab"}
			raw, _ := json.Marshal(in)
			return string(raw), in
		}
		claim := func(key, raw string) {
			h := sha256.Sum256([]byte("POST /api/v1/shipments\n" + raw))
			if err := e.st.InTx(ctx, func(tx store.Tx) error {
				prev, err := tx.ClaimIdempotency(ctx, nvidia.PartyID, key, h[:], e.svc.Now())
				if prev != nil {
					t.Fatalf("key %s was taken", key)
				}
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
		post := func(key, raw string) (int, map[string]any) {
			resp := e.api.Do("nvidia", "POST", "/api/v1/shipments", raw, chipgatetest.IdempotencyKey(key))
			var out map[string]any
			_ = resp.Decode(&out)
			return resp.Status, out
		}
		shipments := func() int { return len(e.shipmentsOf(order)) }
		later := func() { e.clock.Set(e.clock.Now().Add(server.DefaultIdempotencyLease)) }

		t.Run("NeverCommitted", func(t *testing.T) {
			raw, _ := body("SN-CRASH-1")
			claim("crash-1", raw)
			if status, out := post("crash-1", raw); status != 409 || !strings.Contains(out["detail"].(string), "in flight") {
				t.Fatalf("retry within the lease: %d %v", status, out)
			}
			later()
			n := shipments()
			status, out := post("crash-1", raw)
			if status != 201 || shipments() != n+1 {
				t.Fatalf("retry after the lease: %d %v, %d shipments (was %d)", status, out, shipments(), n)
			}
			again, replay := post("crash-1", raw)
			if again != 201 || replay["id"] != out["id"] || shipments() != n+1 {
				t.Fatalf("a further retry: %d %v", again, replay["id"])
			}
		})

		t.Run("FirstAttemptComesBack", func(t *testing.T) {
			raw, in := body("SN-CRASH-2")
			claimedAt := e.svc.Now()
			claim("crash-2", raw)
			later()
			n := shipments()
			if status, out := post("crash-2", raw); status != 201 {
				t.Fatalf("retry after the lease: %d %v", status, out)
			}
			// The first attempt was only slow: its command must not commit.
			_, err := e.svc.CreateShipment(store.WithIdempotencyClaim(ctx, nvidia.PartyID, "crash-2", claimedAt), nvidia, in)
			if domain.ErrorCode(err) != domain.ECONFLICT || shipments() != n+1 {
				t.Fatalf("the fenced first attempt: %v, %d shipments (was %d)", err, shipments(), n)
			}
		})

		t.Run("CommittedResponseLost", func(t *testing.T) {
			raw, in := body("SN-CRASH-3")
			claimedAt := e.svc.Now()
			claim("crash-3", raw)
			// The command commits; the process dies before storing the answer.
			if _, err := e.svc.CreateShipment(store.WithIdempotencyClaim(ctx, nvidia.PartyID, "crash-3", claimedAt), nvidia, in); err != nil {
				t.Fatal(err)
			}
			later()
			n := shipments()
			if status, out := post("crash-3", raw); status != 409 || !strings.Contains(out["detail"].(string), "carried out") || shipments() != n {
				t.Fatalf("retry of a committed request: %d %v, %d shipments (was %d)", status, out, shipments(), n)
			}
		})
	})
}
