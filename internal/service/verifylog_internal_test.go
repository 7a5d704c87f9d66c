package service

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/ledger"
	"github.com/chipgate/chipgate/internal/store"
)

// TestSeedVerifyLog builds, once, the SQLite log on which `chipgate ledger
// verify` and `verify --state` are measured whole (docs/BENCHMARKS.md): a
// log of CHIPGATE_VERIFY_LOG_SIZE records (default 1,000,000) written
// through the service's bound transactions, so that every record carries
// the post-states of the rows it changed and every row is stamped with its
// last record, exactly as commands leave them. 1,000 buyers each get a
// license and a permit (one record each), and every other record is an
// accepted order, the heaviest kind: it creates the order (its document is
// the record's payload, about 1 kB) and changes the buyer's license and
// permit (documents of about 500 bytes) and the volume counter. One
// checkpoint is signed at the end, so the tree is stored and the whole log
// is signed. On the project's 2 cores shared with other sessions (load
// 15-25) it took 39 minutes for 1,000,000 records, 5.3 GB. It runs only when
// CHIPGATE_VERIFY_LOG names the SQLite file to build, and does nothing if
// that file already holds the log:
//
//	CHIPGATE_VERIFY_LOG=/tmp/chipgate-verify/ledger.db go test -run TestSeedVerifyLog -timeout 1h ./internal/service
//	chipgate ledger verify --db /tmp/chipgate-verify/ledger.db --state
func TestSeedVerifyLog(t *testing.T) {
	path := os.Getenv("CHIPGATE_VERIFY_LOG")
	if path == "" {
		t.Skip("CHIPGATE_VERIFY_LOG not set: it names the SQLite file to build a large log in")
	}
	size := 1_000_000
	if v := os.Getenv("CHIPGATE_VERIFY_LOG_SIZE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 2*verifyLogBuyers {
			t.Fatalf("CHIPGATE_VERIFY_LOG_SIZE=%q: want a number of records ≥ %d", v, 2*verifyLogBuyers)
		}
		size = n
	}
	ctx := context.Background()
	st, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := store.Migrate(ctx, st); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := seedVerifyLog(ctx, st, size, func(done int) { t.Logf("%d records (%s)", done, time.Since(start).Round(time.Second)) }); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d records in %s", path, size, time.Since(start).Round(time.Second))
}

const verifyLogBuyers = 1000

// verifyLogID is a deterministic UUIDv7-shaped id: kind, then i.
func verifyLogID(kind byte, i int) domain.ID {
	var id domain.ID
	id[0] = kind
	binary.BigEndian.PutUint64(id[8:], uint64(i))
	id[6] = 0x70
	id[8] |= 0x80
	return id
}

// seedVerifyLog writes the log described at TestSeedVerifyLog into st,
// unless it holds records already.
func seedVerifyLog(ctx context.Context, st store.Store, size int, progress func(int)) error {
	var have int64
	if err := st.View(ctx, func(tx store.Tx) error {
		var err error
		have, err = tx.AuditSize(ctx)
		return err
	}); err != nil {
		return err
	}
	if have >= int64(size) {
		return nil
	}
	if have > 0 {
		return fmt.Errorf("the database holds %d records, not %d: remove it and build it again", have, size)
	}
	t0 := time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC)
	s := New(st, Options{Now: func() time.Time { return t0 }})
	skey, vkey, err := ledger.GenerateKey("verify.chipgate.local/ledger")
	if err != nil {
		return err
	}
	signer, err := NewLedgerSigner(skey, vkey)
	if err != nil {
		return err
	}
	sys := domain.SystemActor
	license := func(b, remaining int) []byte {
		return fmt.Appendf(nil, `{"application_id":"%s","buyer":"buyer-%d","buyer_id":"%s","exported":0,"id":"%s","issued_at":"2026-01-15T09:00:00Z","jurisdiction":"us-ear","number":"BIS-2026-%06d","products":["h200"],"quantity":1000000,"remaining":%d,"status":"active","updated_at":"2026-02-02T09:00:00.000001Z","valid_from":"2026-01-15T00:00:00Z","valid_until":"2027-01-15T00:00:00Z","vendor":"nvidia","vendor_id":"%s"}`,
			verifyLogID(4, b), b, verifyLogID(1, b), verifyLogID(2, b), b, remaining, verifyLogID(5, 0))
	}
	permit := func(b, remaining int) []byte {
		return fmt.Appendf(nil, `{"buyer":"buyer-%d","buyer_id":"%s","id":"%s","issued_at":"2026-01-28T09:00:00Z","jurisdiction":"cn-mofcom","number":"MOFCOM-2026-%06d","products":["h200"],"quantity":1000000,"remaining":%d,"status":"active","updated_at":"2026-02-02T09:00:00.000001Z","valid_from":"2026-01-28T00:00:00Z","valid_until":"2027-01-28T00:00:00Z"}`,
			b, verifyLogID(1, b), verifyLogID(3, b), b, remaining)
	}
	order := func(i, b int, at time.Time) []byte {
		ts := at.Format(time.RFC3339Nano)
		return fmt.Appendf(nil, `{"accepted_at":"%s","buyer":"buyer-%d","buyer_id":"%s","decision":{"jurisdictions":[{"id":"us-ear","outcome":"accept","rules":[{"id":"ear-744.23-license","outcome":"pass","source":"15 CFR 744.23(a)(1)"},{"id":"ear-volume-cap","outcome":"pass","source":"15 CFR 742.6(a)(6)"}]},{"id":"cn-mofcom","outcome":"accept","rules":[{"id":"mofcom-import-permit","outcome":"pass","source":"MOFCOM 2025 No. 12, art. 4"}]}],"outcome":"accepted","policy":"default@2026-01-01","reasons":["license BIS-2026-%06d covers the quantity","permit MOFCOM-2026-%06d covers the quantity","the China volume cap has room"]},"end_use":"commercial cloud inference for domestic customers","id":"%s","license_id":"%s","permit_id":"%s","placed_at":"%s","product":"h200","quantity":10,"requested_period":"2026-03-01","shipped":0,"site":0,"status":"accepted","updated_at":"%s"}`,
			ts, b, verifyLogID(1, b), b, b, verifyLogID(6, i), verifyLogID(2, b), verifyLogID(3, b), ts, ts)
	}
	// The buyers (parties are not state rows), their licenses and permits.
	if err := s.store.InTx(ctx, func(tx store.Tx) error {
		for b := range verifyLogBuyers {
			p := domain.Party{ID: verifyLogID(1, b), Slug: fmt.Sprintf("buyer-%d", b), Name: fmt.Sprintf("Buyer %d", b), Role: domain.RoleBuyer, Country: "CN", CreatedAt: t0}
			if err := tx.CreateParty(ctx, &p); err != nil {
				return err
			}
			lic := store.Doc{ID: verifyLogID(2, b), PartyID: p.ID, Status: "active", CreatedAt: t0, UpdatedAt: t0, Body: license(b, 1_000_000)}
			per := store.Doc{ID: verifyLogID(3, b), PartyID: p.ID, Status: "active", CreatedAt: t0, UpdatedAt: t0, Body: permit(b, 1_000_000)}
			if err := tx.PutDoc(ctx, store.KindLicense, lic, true); err != nil {
				return err
			}
			if err := tx.PutDoc(ctx, store.KindPermit, per, true); err != nil {
				return err
			}
			if err := s.record(ctx, tx, sys, t0, "license.issued", "license", lic.ID.String(), canonicalJSON(`{"buyer":"`+p.Slug+`"}`)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	const batch = 2000
	remaining := make([]int, verifyLogBuyers)
	for i := range remaining {
		remaining[i] = 1_000_000
	}
	for done := verifyLogBuyers; done < size; {
		n := min(batch, size-done)
		if err := s.store.InTx(ctx, func(tx store.Tx) error {
			for k := range n {
				i := done + k
				b := i % verifyLogBuyers
				at := t0.Add(time.Duration(i) * time.Second)
				remaining[b] -= 10
				body := order(i, b, at)
				o := store.Doc{ID: verifyLogID(6, i), PartyID: verifyLogID(1, b), Ref: verifyLogID(2, b).String(), Status: "accepted", CreatedAt: at, UpdatedAt: at, Body: body}
				if err := tx.PutDoc(ctx, store.KindOrder, o, true); err != nil {
					return err
				}
				lic := store.Doc{ID: verifyLogID(2, b), Status: "active", UpdatedAt: at, Body: license(b, remaining[b])}
				if err := tx.PutDoc(ctx, store.KindLicense, lic, false); err != nil {
					return err
				}
				per := store.Doc{ID: verifyLogID(3, b), Status: "active", UpdatedAt: at, Body: permit(b, remaining[b])}
				if err := tx.PutDoc(ctx, store.KindPermit, per, false); err != nil {
					return err
				}
				if err := tx.AddVolume(ctx, store.Ordered, "h200", "CN", 10); err != nil {
					return err
				}
				who := domain.Actor{UserID: verifyLogID(7, b), PartyID: verifyLogID(1, b), PartySlug: fmt.Sprintf("buyer-%d", b), Role: domain.RoleBuyer}
				if err := s.record(ctx, tx, who, at, "order.accepted", "order", o.ID.String(), canonicalJSON(body)); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return fmt.Errorf("records %d to %d: %w", done, done+n, err)
		}
		done += n
		if done%100_000 < batch {
			progress(done)
		}
	}
	if _, err := s.SignCheckpoint(ctx, signer); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	progress(size)
	return nil
}

// BenchmarkVerifyLogFile runs `ledger verify` ("log") and `verify --state`
// ("state") in process over the log CHIPGATE_VERIFY_LOG names (built by
// TestSeedVerifyLog), for profiling the whole path, reads included.
func BenchmarkVerifyLogFile(b *testing.B) {
	path := os.Getenv("CHIPGATE_VERIFY_LOG")
	if path == "" {
		b.Skip("CHIPGATE_VERIFY_LOG not set")
	}
	ctx := context.Background()
	st, err := store.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	s := New(st, Options{})
	for _, state := range []bool{false, true} {
		b.Run(map[bool]string{false: "log", true: "state"}[state], func(b *testing.B) {
			var n uint64
			for b.Loop() {
				var sum ledger.VerifySummary
				var rep StateReport
				if state {
					sum, rep, err = s.VerifyState(ctx, VerifyOptions{})
					if err == nil && len(rep.Diffs) > 0 {
						err = fmt.Errorf("%d rows differ, first %s", len(rep.Diffs), rep.Diffs[0])
					}
				} else {
					sum, err = s.VerifyLogWith(ctx, VerifyOptions{})
				}
				if err != nil {
					b.Fatal(err)
				}
				n = sum.Size
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
