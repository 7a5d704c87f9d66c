package ledger_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/ledger"
)

// stateRecords are n accepted orders' records as the service writes them:
// the order (the payload, its post-state written as null), the buyer's
// license and permit (documents of about 500 bytes) and the volume
// counter, over 1,000 buyers.
func stateRecords(b *testing.B, n int) []domain.AuditRecord {
	recs := records(n)
	for i := range recs {
		buyer := i % 1000
		lic := fmt.Sprintf(`{"application_id":"0197a1b2-c3d4-7e5f-8a9b-%012d","buyer":"buyer-%d","buyer_id":"0197a1b2-c3d4-7e5f-8a9b-%012d","exported":0,"id":"0197a1b2-c3d4-7e5f-8a9c-%012d","issued_at":"2026-01-15T09:00:00Z","jurisdiction":"us-ear","number":"BIS-2026-%06d","products":["h200"],"quantity":90000,"remaining":%d,"status":"active","updated_at":"2026-02-02T09:00:00.000001Z","valid_from":"2026-01-15T00:00:00Z","valid_until":"2027-01-15T00:00:00Z","vendor":"nvidia","vendor_id":"0197a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5e"}`, buyer, buyer, buyer, buyer, buyer, 90000-i)
		permit := fmt.Sprintf(`{"buyer":"buyer-%d","buyer_id":"0197a1b2-c3d4-7e5f-8a9b-%012d","id":"0197a1b2-c3d4-7e5f-8a9d-%012d","issued_at":"2026-01-28T09:00:00Z","jurisdiction":"cn-mofcom","number":"MOFCOM-2026-%06d","products":["h200"],"quantity":90000,"remaining":%d,"status":"active","updated_at":"2026-02-02T09:00:00.000001Z","valid_from":"2026-01-28T00:00:00Z","valid_until":"2027-01-28T00:00:00Z"}`, buyer, buyer, buyer, buyer, 90000-i)
		party := fmt.Sprintf("0197a1b2-c3d4-7e5f-8a9b-%012d", buyer)
		rows := []ledger.StateRow{
			{Table: "orders", Key: recs[i].SubjectID, Fields: []string{party, "", "accepted", "2026-02-02T09:00:00Z", "2026-02-02T09:00:00Z"}, HasDoc: true, Doc: recs[i].Payload},
			{Table: "licenses", Key: fmt.Sprintf("0197a1b2-c3d4-7e5f-8a9c-%012d", buyer), Fields: []string{party, "", "active", "2026-01-15T09:00:00Z", "2026-02-02T09:00:00Z"}, HasDoc: true, Doc: []byte(lic)},
			{Table: "permits", Key: fmt.Sprintf("0197a1b2-c3d4-7e5f-8a9d-%012d", buyer), Fields: []string{party, "", "active", "2026-01-28T09:00:00Z", "2026-02-02T09:00:00Z"}, HasDoc: true, Doc: []byte(permit)},
			{Table: "order_volumes", Key: "h200/CN", Fields: []string{fmt.Sprint(i * 10)}},
		}
		p, err := ledger.WithState(recs[i].Payload, rows)
		if err != nil {
			b.Fatal(err)
		}
		recs[i].Payload = p
	}
	return recs
}

// BenchmarkVerifyState is `ledger verify --state` minus the database, on
// one core with -cpu 1: "replay" applies the post-states of every record
// (the leaf hashes given), "verify+replay" also hashes every leaf and
// recomputes the tree and the checkpoint, as the command does. Every record
// is an accepted order carrying four rows, the heaviest kind.
func BenchmarkVerifyState(b *testing.B) {
	const n = 1 << 16
	recs := stateRecords(b, n)
	leaves := leafHashes(b, recs)
	l := newStoredLogFrom(b, recs, n)
	stored := storedState(b, recs, leaves)
	tables := []string{"orders", "licenses", "permits", "order_volumes"}
	b.Run("replay", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r := ledger.NewStateReplay(stored, tables, nil)
			for i := range recs {
				if err := r.Apply(&recs[i], leaves[i]); err != nil {
					b.Fatal(err)
				}
			}
			if d := r.Diffs(); len(d) > 0 {
				b.Fatalf("%d diffs, first %s", len(d), d[0])
			}
		}
		reportEntries(b, n)
	})
	b.Run("verify+replay", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r := ledger.NewStateReplay(stored, tables, nil)
			if _, err := ledger.VerifyRecordsFunc(context.Background(), seq(l.recs), l.cps, nil, r.Apply); err != nil {
				b.Fatal(err)
			}
			if d := r.Diffs(); len(d) > 0 {
				b.Fatalf("%d diffs, first %s", len(d), d[0])
			}
		}
		reportEntries(b, n)
	})
}

// storedState returns the state rows the tables hold after recs: each
// row's last post-state, naming its record.
func storedState(tb testing.TB, recs []domain.AuditRecord, leaves []ledger.Hash) []ledger.StoredRow {
	tb.Helper()
	at := map[ledger.StateKey]int{}
	var out []ledger.StoredRow
	for i := range recs {
		rows, _, err := ledger.SplitState(recs[i].Payload)
		if err != nil {
			tb.Fatal(err)
		}
		for _, r := range rows {
			r.Doc = bytes.Clone(r.Doc)
			st := ledger.StoredRow{Row: r, Index: recs[i].Index, Hash: leaves[i][:]}
			if j, ok := at[r.ID()]; ok {
				out[j] = st
				continue
			}
			at[r.ID()] = len(out)
			out = append(out, st)
		}
	}
	return out
}
