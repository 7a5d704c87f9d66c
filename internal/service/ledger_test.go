package service_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	"golang.org/x/mod/sumdb/note"
	_ "modernc.org/sqlite"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/ledger"
	"github.com/chipgate/chipgate/internal/ledger/ledgertest"
	"github.com/chipgate/chipgate/internal/ledgerlog"
	"github.com/chipgate/chipgate/internal/service"
	"github.com/chipgate/chipgate/internal/store"
	"github.com/chipgate/chipgate/internal/store/storetest"
	"github.com/chipgate/chipgate/internal/witness"
)

// TestStoreTiles holds the SQL tile tables of both backends to the ledger's
// TileStore contract.
func TestStoreTiles(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		ledgertest.RunTileStoreTests(t, func(t *testing.T) ledger.TileStore {
			st, _ := b.Open(t)
			return service.StoreTiles(st)
		})
	})
}

// TestVerifyLogWithUnintegratedTailAndDeletedTail: records not yet in the
// tree verify from the records alone; a deleted tail is caught.
func TestVerifyLogWithUnintegratedTailAndDeletedTail(t *testing.T) {
	st, dsn := storetest.OpenSQLite(t)
	ctx := context.Background()
	svc := service.New(st, service.Options{})
	skey, vkey, err := ledger.GenerateKey("test.chipgate/ledger")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := service.NewLedgerSigner(skey, vkey)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if _, err := svc.CreateParty(ctx, domain.SystemActor, service.PartyRequest{Slug: fmt.Sprintf("p%d", i), Name: "P", Role: domain.RoleAuditor, Country: "US"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.SignCheckpoint(ctx, signer); err != nil {
		t.Fatal(err)
	}
	for i := 5; i < 8; i++ { // three more, not yet integrated
		if _, err := svc.CreateParty(ctx, domain.SystemActor, service.PartyRequest{Slug: fmt.Sprintf("p%d", i), Name: "P", Role: domain.RoleAuditor, Country: "US"}); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := svc.VerifyLog(ctx)
	if err != nil || sum.Size != 8 {
		t.Fatalf("verify with an unintegrated tail: %+v, %v", sum, err)
	}
	raw, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec("DELETE FROM audit_log WHERE idx >= 6"); err != nil {
		t.Fatal(err)
	}
	_, err = svc.VerifyLog(ctx)
	var ve *ledger.VerifyError
	if !errors.As(err, &ve) || ve.Index != 6 {
		t.Fatalf("verify after deleting the tail: %v, want a VerifyError at 6", err)
	}
}

// signer returns a fresh checkpoint signer.
func signer(t testing.TB) *service.LedgerSigner {
	t.Helper()
	skey, vkey, err := ledger.GenerateKey("test.chipgate/ledger")
	must(t, err)
	s, err := service.NewLedgerSigner(skey, vkey)
	must(t, err)
	return s
}

// sign signs a checkpoint of the log as it is and fails unless there was
// something new to sign.
func (e *env) sign(t testing.TB, s *service.LedgerSigner) ledger.Checkpoint {
	t.Helper()
	cp, err := e.svc.SignCheckpoint(e.ctx, s)
	must(t, err)
	if cp == nil {
		t.Fatal("nothing new to sign")
	}
	return *cp
}

// record returns the audit record at index.
func (e *env) record(t testing.TB, index int64) domain.AuditRecord {
	t.Helper()
	var recs []domain.AuditRecord
	must(t, e.st.View(e.ctx, func(tx store.Tx) (err error) { recs, err = tx.AuditRecords(e.ctx, index, index+1); return err }))
	if len(recs) != 1 {
		t.Fatalf("no record %d", index)
	}
	return recs[0]
}

func TestSignCheckpoint(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		s := signer(t)
		t.Run("OK", func(t *testing.T) {
			size := e.auditSize(t)
			cp := e.sign(t, s)
			if int64(cp.Size) != size || cp.Origin != "test.chipgate/ledger" {
				t.Fatalf("checkpoint %+v, want size %d", cp, size)
			}
			// Signing writes no audit record.
			e.unchanged(t, size)
			if again, err := e.svc.SignCheckpoint(e.ctx, s); err != nil || again != nil {
				t.Fatalf("nothing new, yet signed %+v, %v", again, err)
			}
			e.apply(t, "bytedance")
			next := e.sign(t, s)
			if next.Size != cp.Size+1 {
				t.Fatalf("next checkpoint of size %d, want %d", next.Size, cp.Size+1)
			}
			p, err := e.svc.ConsistencyProof(e.ctx, e.as("auditor"), int64(cp.Size), int64(next.Size))
			must(t, err)
			must(t, ledger.VerifyConsistency(cp.Size, next.Size, p.Hashes, cp.Root, next.Root))
		})
		t.Run("ErrOtherKey", func(t *testing.T) {
			e.apply(t, "alibaba")
			_, err := e.svc.SignCheckpoint(e.ctx, signer(t))
			wantCode(t, err, domain.ECONFLICT)
		})
	})
}

func TestLatestCheckpoint(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		t.Run("ErrNotFoundBeforeFirst", func(t *testing.T) {
			_, err := e.svc.LatestCheckpoint(e.ctx, e.as("auditor"))
			wantCode(t, err, domain.ENOTFOUND)
			_, err = e.svc.VerifierKey(e.ctx, e.as("auditor"))
			wantCode(t, err, domain.ENOTFOUND)
		})
		s := signer(t)
		cp := e.sign(t, s)
		t.Run("OK", func(t *testing.T) {
			for _, r := range everyRole {
				who := e.as(castOf[r])
				v, err := e.svc.LatestCheckpoint(e.ctx, who)
				if err != nil || v.Size != cp.Size || v.Root != cp.Root || !strings.HasPrefix(v.Signed, "test.chipgate/ledger\n") {
					t.Fatalf("%s: %+v, %v", r, v, err)
				}
				if k, err := e.svc.VerifierKey(e.ctx, who); err != nil || k != s.VerifierKey() {
					t.Fatalf("%s: key %q, %v", r, k, err)
				}
			}
		})
	})
}

func TestInclusionProof(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		t.Run("ErrEmptyTree", func(t *testing.T) {
			_, err := e.svc.InclusionProof(e.ctx, e.as("auditor"), 0, 0)
			wantInvalid(t, err, "index")
			if msg := domain.ErrorMessage(err); strings.Contains(msg, "18446744073709551615") {
				t.Fatalf("message %q", msg)
			}
		})
		first := e.sign(t, signer(t))
		e.apply(t, "bytedance") // not yet in the tree
		t.Run("OK", func(t *testing.T) {
			for _, r := range everyRole {
				for _, c := range []struct{ index, size int64 }{{0, 0}, {5, 0}, {int64(first.Size) - 1, int64(first.Size)}, {3, 10}} {
					p, err := e.svc.InclusionProof(e.ctx, e.as(castOf[r]), c.index, c.size)
					must(t, err)
					if p.TreeSize != first.Size && c.size != 10 {
						t.Fatalf("%s: proof in a tree of %d, want %d", r, p.TreeSize, first.Size)
					}
					leaf, err := ledger.LeafHash(ptr(e.record(t, c.index)))
					must(t, err)
					if *p.LeafHash != leaf {
						t.Fatalf("%s: leaf hash of %d differs from the record's", r, c.index)
					}
					if p.TreeSize == first.Size {
						must(t, ledger.VerifyInclusion(p.Index, p.TreeSize, leaf, p.Hashes, first.Root))
					}
				}
			}
		})
		for _, c := range []struct {
			name        string
			index, size int64
			path        string
		}{
			{"ErrIndexNegative", -1, 0, "index"},
			{"ErrIndexBeyondTree", int64(first.Size), 0, "index"},
			{"ErrIndexBeyondSize", 10, 10, "index"},
			{"ErrTreeSizeBeyondTree", 0, int64(first.Size) + 1, "tree_size"},
			{"ErrTreeSizeNegative", 0, -1, "tree_size"},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, err := e.svc.InclusionProof(e.ctx, e.as("auditor"), c.index, c.size)
				wantInvalid(t, err, c.path)
			})
		}
	})
}

func ptr[T any](v T) *T { return &v }

func TestConsistencyProof(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		s := signer(t)
		first := e.sign(t, s)
		e.apply(t, "bytedance")
		e.apply(t, "alibaba")
		second := e.sign(t, s)
		t.Run("OK", func(t *testing.T) {
			for _, r := range everyRole {
				p, err := e.svc.ConsistencyProof(e.ctx, e.as(castOf[r]), int64(first.Size), 0) // to the whole tree
				must(t, err)
				if p.Size1 != first.Size || p.Size2 != second.Size {
					t.Fatalf("%s: proof from %d to %d", r, p.Size1, p.Size2)
				}
				must(t, ledger.VerifyConsistency(p.Size1, p.Size2, p.Hashes, first.Root, second.Root))
			}
		})
		for _, c := range []struct {
			name     string
			from, to int64
			path     string
		}{
			{"ErrFromZero", 0, 0, "from"},
			{"ErrFromBeyondTo", 11, 10, "from"},
			{"ErrToBeyondTree", 1, int64(second.Size) + 1, "to"},
			{"ErrToNegative", 1, -1, "to"},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, err := e.svc.ConsistencyProof(e.ctx, e.as("auditor"), c.from, c.to)
				wantInvalid(t, err, c.path)
			})
		}
	})
}

func TestLeafHashes(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		cp := e.sign(t, signer(t))
		t.Run("OK", func(t *testing.T) {
			for _, r := range everyRole {
				hs, err := e.svc.LeafHashes(e.ctx, e.as(castOf[r]), 2, 5)
				must(t, err)
				if len(hs) != 3 {
					t.Fatalf("%s: %d hashes", r, len(hs))
				}
				for i, h := range hs {
					if leaf, err := ledger.LeafHash(ptr(e.record(t, int64(2+i)))); err != nil || h != leaf {
						t.Fatalf("%s: hash %d differs from its record's, %v", r, 2+i, err)
					}
				}
			}
			if hs, err := e.svc.LeafHashes(e.ctx, e.as("auditor"), 3, 3); err != nil || len(hs) != 0 {
				t.Fatalf("an empty range: %d, %v", len(hs), err)
			}
		})
		for _, c := range []struct {
			name       string
			start, end int64
			path       string
		}{
			{"ErrStartNegative", -1, 5, "start"},
			{"ErrEndBeforeStart", 5, 4, "end"},
			{"ErrRangeTooLong", 0, 10001, "end"},
			{"ErrEndBeyondTree", 0, int64(cp.Size) + 1, "end"},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, err := e.svc.LeafHashes(e.ctx, e.as("auditor"), c.start, c.end)
				wantInvalid(t, err, c.path)
			})
		}
	})
}

func TestEntry(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		before := e.auditSize(t)
		mine := e.apply(t, "bytedance")
		index := before // the application's record
		readers := []domain.Role{domain.RoleVendor, domain.RoleExportAuthority, domain.RoleImportAuthority, domain.RoleBuyer, domain.RoleLab, domain.RoleCarrier}
		t.Run("OK", func(t *testing.T) {
			for _, slug := range []string{"bytedance", "us-commerce"} {
				rec, err := e.svc.Entry(e.ctx, e.as(slug), index)
				if err != nil || rec.SubjectID != mine.ID.String() || rec.Action != "application.submitted" || len(rec.Payload) == 0 {
					t.Fatalf("%s reads entry %d: %+v, %v", slug, index, rec, err)
				}
			}
			// The operator's records: the export authority sees them.
			if rec, err := e.svc.Entry(e.ctx, e.as("us-commerce"), 0); err != nil || rec.ActorParty != "system" {
				t.Fatalf("entry 0: %+v, %v", rec, err)
			}
		})
		t.Run("ErrOtherPartysEntryNotFound", func(t *testing.T) {
			for _, slug := range []string{"alibaba", "nvidia", "cn-mofcom", "us-testlab", "carrier"} {
				_, err := e.svc.Entry(e.ctx, e.as(slug), index)
				wantCode(t, err, domain.ENOTFOUND)
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			for _, i := range []int64{-1, before + 1, 1 << 40} {
				_, err := e.svc.Entry(e.ctx, e.as("us-commerce"), i)
				wantCode(t, err, domain.ENOTFOUND)
			}
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			e.refused(t, readers, func(who domain.Actor) error {
				_, err := e.svc.Entry(e.ctx, who, index)
				return err
			})
		})
		t.Run("BuyerNeverSeesItsHits", func(t *testing.T) {
			at := e.auditSize(t)
			a := e.submit(t, similarName)
			authority, err := e.svc.Entry(e.ctx, e.as("us-commerce"), at)
			must(t, err)
			if !strings.Contains(string(authority.Payload), `"hits"`) || !strings.Contains(string(authority.Payload), `"matched"`) {
				t.Fatalf("the authority's copy of %s's record has no hits: %s", a.ID, authority.Payload)
			}
			buyer, err := e.svc.Entry(e.ctx, e.as("bytedance"), at)
			must(t, err)
			if strings.Contains(string(buyer.Payload), `"hits"`) || strings.Contains(string(buyer.Payload), `"matched"`) ||
				!strings.Contains(string(buyer.Payload), `"potential_match"`) {
				t.Fatalf("the buyer's copy of its application's record: %s", buyer.Payload)
			}
		})
	})
}

func TestVerifyAndExportLog(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		dir := filepath.Join(t.TempDir(), "export")
		t.Run("ErrExportBeforeFirstCheckpoint", func(t *testing.T) {
			_, err := e.svc.ExportLog(e.ctx, dir)
			wantCode(t, err, domain.ECONFLICT)
		})
		e.sign(t, signer(t))
		e.apply(t, "bytedance") // after the checkpoint
		t.Run("OK", func(t *testing.T) {
			size := e.auditSize(t)
			sum, err := e.svc.VerifyLog(e.ctx)
			if err != nil || int64(sum.Size) != size {
				t.Fatalf("verify: %+v, %v", sum, err)
			}
			n, err := e.svc.ExportLog(e.ctx, dir)
			if err != nil || n != size {
				t.Fatalf("export: %d, %v", n, err)
			}
			if _, err := os.Stat(dir); err != nil {
				t.Fatal(err)
			}
			rep, err := ledger.Audit(dir)
			if err != nil || int64(rep.Size) != size {
				t.Fatalf("audit of the export: %+v, %v", rep, err)
			}
		})
	})
}

// TestSignCheckpointRefusesARewrittenHistory is issue 16's attack on a
// real database: with write access to it but not to the key, an operator
// changes a record, deletes the checkpoints that cover it and the tree
// (which the log rebuilds from the records). The signer, which keeps its
// last checkpoint in a file beside the key, refuses to sign; "ledger
// verify" with that file names the first bad entry.
func TestSignCheckpointRefusesARewrittenHistory(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		st, dsn := b.Open(t)
		svc := service.New(st, service.Options{})
		skey, vkey, err := ledger.GenerateKey("test.chipgate/ledger")
		if err != nil {
			t.Fatal(err)
		}
		k, err := ledgerlog.NewKeySigner(skey, vkey)
		if err != nil {
			t.Fatal(err)
		}
		state := ledgerlog.FileState(filepath.Join(t.TempDir(), "ledger.key.checkpoint"))
		metrics := ledgerlog.NewMetrics()
		signer, err := service.NewLedgerSignerWith(k, service.LedgerOptions{State: state, Metrics: metrics})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 12 {
			if _, err := svc.CreateParty(ctx, domain.SystemActor, service.PartyRequest{Slug: fmt.Sprintf("p%d", i), Name: "P", Role: domain.RoleAuditor, Country: "US"}); err != nil {
				t.Fatal(err)
			}
		}
		if c, err := svc.SignCheckpoint(ctx, signer); err != nil || c == nil || c.Size != 12 {
			t.Fatalf("sign: %+v %v", c, err)
		}

		driver := "sqlite"
		if store.IsPostgres(dsn) {
			driver = "pgx"
		}
		raw, err := sql.Open(driver, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		for _, q := range []string{
			`UPDATE audit_log SET action = 'party.deleted' WHERE idx = 4`,
			`DELETE FROM ledger_checkpoints`,
			`DELETE FROM ledger_tiles`,
		} {
			if _, err := raw.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		_, err = svc.SignCheckpoint(ctx, signer)
		var re *ledgerlog.RefusedError
		if !errors.As(err, &re) || re.Last.Size != 12 {
			t.Fatalf("sign over a rewritten history: %v", err)
		}
		if _, err := svc.CreateParty(ctx, domain.SystemActor, service.PartyRequest{Slug: "late", Name: "P", Role: domain.RoleAuditor, Country: "US"}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.SignCheckpoint(ctx, signer); !errors.As(err, &re) {
			t.Fatalf("sign after more entries: %v", err)
		}
		if _, err := svc.CheckpointNote(ctx); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Fatalf("a checkpoint was published: %v", err)
		}

		// Without outside evidence the records verify but nothing signs
		// them; with the signer's state file, entry 4 is blamed.
		sum, err := svc.VerifyLog(ctx)
		if err != nil || sum.Signed != 0 || sum.Checkpoints != 0 {
			t.Fatalf("verify: %+v %v", sum, err)
		}
		note, err := state.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, err = svc.VerifyLogWith(ctx, service.VerifyOptions{Checkpoints: []ledger.SourcedNote{{Source: string(state), Note: note}}})
		var ve *ledger.VerifyError
		if !errors.As(err, &ve) || ve.Index != 0 {
			t.Fatalf("verify with the state file: %v", err)
		}
		// A replaced key in the database is caught against the pinned key.
		if _, err := raw.Exec(`UPDATE ledger_meta SET value = 'x' WHERE name = 'verifier_key'`); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.VerifyLogWith(ctx, service.VerifyOptions{LogKey: vkey}); err == nil {
			t.Fatal("verify with a replaced key in the database")
		}
	})
}

// downable is a witness that can be switched off.
type downable struct {
	*witness.Witness
	down bool
}

func (d *downable) AddCheckpoint(ctx context.Context, old uint64, proof []ledger.Hash, signed []byte) ([]byte, error) {
	if d.down {
		return nil, errors.New("connection refused")
	}
	return d.Witness.AddCheckpoint(ctx, old, proof, signed)
}

// TestSignCheckpointCosigns: the published checkpoint carries the witness's
// cosignature; one the witness missed gets it while the log is idle (the
// store replaces the published note).
func TestSignCheckpointCosigns(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		st, _ := b.Open(t)
		svc := service.New(st, service.Options{})
		skey, vkey, _ := ledger.GenerateKey("test.chipgate/ledger")
		wskey, _, _ := ledger.GenerateWitnessKey("w.test")
		cosigner, _ := ledger.ParseCosigner(wskey)
		logKey, _ := ledger.ParseVerifierKey(vkey)
		w, err := witness.New(witness.Config{Cosigner: cosigner, LogKey: logKey, StateFile: filepath.Join(t.TempDir(), "w.state")})
		if err != nil {
			t.Fatal(err)
		}
		wd := &downable{Witness: w, down: true}
		k, _ := ledgerlog.NewKeySigner(skey, vkey)
		signer, err := service.NewLedgerSignerWith(k, service.LedgerOptions{Witnesses: []ledgerlog.Witness{wd}, Quorum: 1})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.CreateParty(ctx, domain.SystemActor, service.PartyRequest{Slug: "p", Name: "P", Role: domain.RoleAuditor, Country: "US"}); err != nil {
			t.Fatal(err)
		}
		count := func() int {
			n, err := svc.CheckpointNote(ctx)
			if err != nil {
				t.Fatal(err)
			}
			_, cs, err := ledger.Cosignatures(n, logKey, []note.Verifier{cosigner.Verifier()})
			if err != nil {
				t.Fatal(err)
			}
			return len(cs)
		}
		if c, err := svc.SignCheckpoint(ctx, signer); err != nil || c == nil {
			t.Fatalf("sign: %+v %v", c, err)
		}
		if n := count(); n != 0 {
			t.Fatalf("%d cosignatures with the witness down", n)
		}
		wd.down = false
		if c, err := svc.SignCheckpoint(ctx, signer); err != nil || c != nil {
			t.Fatalf("idle: %+v %v", c, err)
		}
		if n := count(); n != 1 {
			t.Fatalf("%d cosignatures after the witness came back", n)
		}
		cps, err := svc.ConsistencyProof(ctx, domain.SystemActor, 1, 0)
		if err != nil || cps.Size2 != 1 {
			t.Fatalf("the published tree: %+v %v", cps, err)
		}
	})
}
