package service_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
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
