package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/chipgatetest"
	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/ledger"
)

// writeExport writes an export of n records with one checkpoint over all.
func writeExport(t *testing.T, n int) string {
	t.Helper()
	ctx := context.Background()
	skey, vkey := chipgatetest.LedgerKey(t, "chipgate.test/cli")
	signer, err := ledger.ParseSignerKey(skey)
	if err != nil {
		t.Fatal(err)
	}
	recs := make([]domain.AuditRecord, n)
	leaves := make([]ledger.Hash, n)
	for i := range recs {
		recs[i] = domain.AuditRecord{Index: int64(i), At: time.Unix(1768467600, 0).UTC(), Action: "order.placed", Payload: []byte(`{"n":1}`)}
		leaves[i], _ = ledger.LeafHash(&recs[i])
	}
	var tiles ledger.MemoryTiles
	root, err := ledger.Append(ctx, &tiles, 0, leaves)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := ledger.SignNext(signer, nil, ledger.Checkpoint{Origin: "chipgate.test/cli", Size: uint64(n), Root: root}, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "export")
	seq := func(yield func(domain.AuditRecord, error) bool) {
		for _, r := range recs {
			if !yield(r, nil) {
				return
			}
		}
	}
	if err := ledger.ExportDir(dir, vkey, seq, [][]byte{cp}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLedgerAuditCmd(t *testing.T) {
	tests := []struct {
		name     string
		tamper   func(t *testing.T, dir string)
		wantOut  string
		wantCode int
		wantErr  string
	}{
		{"OK", func(*testing.T, string) {}, "ledger audit OK", 0, ""},
		{"ChangedByte", func(t *testing.T, dir string) {
			p := filepath.Join(dir, ledger.ExportEntriesFile)
			b, _ := os.ReadFile(p)
			lines := bytes.SplitAfter(b, []byte("\n"))
			lines[7] = bytes.Replace(lines[7], []byte("order.placed"), []byte("order.placeD"), 1)
			if err := os.WriteFile(p, bytes.Join(lines, nil), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "", 1, "entry 7"},
		{"DeletedTail", func(t *testing.T, dir string) {
			p := filepath.Join(dir, ledger.ExportEntriesFile)
			b, _ := os.ReadFile(p)
			lines := bytes.SplitAfter(b, []byte("\n"))
			if err := os.WriteFile(p, bytes.Join(lines[:5], nil), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "", 1, "entry 5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeExport(t, 10)
			tt.tamper(t, dir)
			out, err := runChipgate(t, "ledger", "audit", dir)
			if tt.wantCode == 0 {
				if err != nil || !strings.Contains(out, tt.wantOut) {
					t.Fatalf("out %q, err %v", out, err)
				}
				return
			}
			if err == nil || exitCode(err) != tt.wantCode || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err %v (exit %d), want exit %d naming %q", err, exitCode(err), tt.wantCode, tt.wantErr)
			}
		})
	}
	if _, err := runChipgate(t, "ledger", "audit"); err == nil {
		t.Error("audit without a directory succeeded")
	}
}
