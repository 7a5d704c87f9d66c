package service_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/ledger"
	"github.com/chipgate/chipgate/internal/service"
	"github.com/chipgate/chipgate/internal/store"
	"github.com/chipgate/chipgate/internal/store/storetest"
)

// benchPayload is a party's record of a usual size.
var benchPayload, _ = domain.CanonicalJSON(map[string]any{"slug": "x", "name": "A party name of usual length", "role": "buyer", "country": "CN"})

// createParty is the benchmarks' tiny command: create the i-th party, with
// its audit record or without.
func createParty(ctx context.Context, i int64, withRecord bool) func(store.Tx) error {
	return func(tx store.Tx) error {
		p := domain.Party{ID: uuid.Must(uuid.NewV7()), Slug: fmt.Sprintf("p-%d", i), Name: "A party", Role: domain.RoleBuyer, Country: "CN"}
		if err := tx.CreateParty(ctx, &p); err != nil {
			return err
		}
		if !withRecord {
			return nil
		}
		rec := domain.AuditRecord{ID: uuid.Must(uuid.NewV7()), ActorUser: "u", ActorParty: "p", ActorRole: "buyer",
			Action: "party.created", SubjectType: "party", SubjectID: p.ID.String(), Payload: benchPayload}
		return tx.AppendAudit(ctx, &rec)
	}
}

// BenchmarkCommandLedgerCost compares one durable command (creating a
// party) with and without its audit record: what the ledger adds to a
// command's latency now that sequencing is one row and integration runs in
// the background. The two kinds alternate on one database, so that a busy
// machine slows both alike; it reports each kind's mean latency and the
// ledger's share ("ledger-%").
func BenchmarkCommandLedgerCost(b *testing.B) {
	st, _ := storetest.OpenSQLite(b)
	ctx := context.Background()
	var spent [2]time.Duration
	var count [2]int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		withRecord := i%2 == 1
		start := time.Now()
		err := st.InTx(ctx, createParty(ctx, int64(i), withRecord))
		if err != nil {
			b.Fatal(err)
		}
		k := i % 2
		spent[k] += time.Since(start)
		count[k]++
	}
	if count[0] > 0 && count[1] > 0 {
		plain, recorded := float64(spent[0])/float64(count[0]), float64(spent[1])/float64(count[1])
		b.ReportMetric(plain, "plain-ns/cmd")
		b.ReportMetric(recorded, "recorded-ns/cmd")
		b.ReportMetric(100*(recorded-plain)/plain, "ledger-%")
	}
}

// BenchmarkCommandLedgerCostConcurrent is the same at 8 concurrent
// commands, where SQLite commits them in groups.
func BenchmarkCommandLedgerCostConcurrent(b *testing.B) {
	for _, withRecord := range []bool{false, true} {
		b.Run(fmt.Sprintf("record=%v", withRecord), func(b *testing.B) {
			st, _ := storetest.OpenSQLite(b)
			ctx := context.Background()
			var n atomic.Int64
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					err := st.InTx(ctx, createParty(ctx, i, withRecord))
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkIntegrate measures how fast the leader turns committed records
// into the stored Merkle tree and a signed checkpoint on SQLite: records
// are appended in batches of 1,000 per transaction, then integrated.
func BenchmarkIntegrate(b *testing.B) {
	st, _ := storetest.OpenSQLite(b)
	ctx := context.Background()
	svc := service.New(st, service.Options{})
	skey, vkey, err := ledger.GenerateKey("bench.chipgate/ledger")
	if err != nil {
		b.Fatal(err)
	}
	signer, err := service.NewLedgerSigner(skey, vkey)
	if err != nil {
		b.Fatal(err)
	}
	payload := []byte(`{"buyer":"bytedance","product":"h200","quantity":1000,"status":"accepted","decision":{"outcome":"accepted"}}`)
	b.ResetTimer()
	for done := 0; done < b.N; {
		n := min(1000, b.N-done)
		if err := st.InTx(ctx, func(tx store.Tx) error {
			for i := 0; i < n; i++ {
				rec := domain.AuditRecord{ID: uuid.Must(uuid.NewV7()), ActorUser: "u", ActorParty: "bytedance", ActorRole: "buyer",
					Action: "order.accepted", SubjectType: "order", SubjectID: "o", Payload: payload}
				if err := tx.AppendAudit(ctx, &rec); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		done += n
		if done%10000 == 0 || done == b.N {
			if _, err := svc.SignCheckpoint(ctx, signer); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}
