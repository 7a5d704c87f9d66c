package service_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/ledger"
	"github.com/chipgate/chipgate/internal/ledger/ledgertest"
	"github.com/chipgate/chipgate/internal/service"
	"github.com/chipgate/chipgate/internal/store/storetest"
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
