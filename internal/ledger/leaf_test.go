package ledger_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/ledger"
)

// TestLeafDataLayout builds the documented encoding by hand, field by field
// as docs/LEDGER.md states it, and compares.
func TestLeafDataLayout(t *testing.T) {
	rec := domain.AuditRecord{
		Index:       7,
		ID:          uuid.MustParse("0197a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"),
		At:          time.Date(2026, 1, 15, 9, 30, 0, 123456789, time.FixedZone("JST", 9*3600)),
		ActorUser:   "u",
		ActorParty:  "party",
		ActorRole:   "vendor",
		Action:      "lot.created",
		SubjectType: "lot",
		SubjectID:   "",
		Payload:     []byte(`{"a":1}`),
	}
	var want []byte
	want = append(want, "chipgate/audit-record/v1\n"...)
	want = append(want, 0, 0, 0, 0, 0, 0, 0, 7)
	want = append(want, 0x01, 0x97, 0xa1, 0xb2, 0xc3, 0xd4, 0x7e, 0x5f, 0x8a, 0x9b, 0x0c, 0x1d, 0x2e, 0x3f, 0x4a, 0x5b)
	want = binary.BigEndian.AppendUint64(want, uint64(time.Date(2026, 1, 15, 0, 30, 0, 0, time.UTC).Unix()))
	want = binary.BigEndian.AppendUint32(want, 123456789)
	for _, f := range []string{"u", "party", "vendor", "lot.created", "lot", "", `{"a":1}`} {
		want = binary.BigEndian.AppendUint32(want, uint32(len(f)))
		want = append(want, f...)
	}
	got, err := ledger.LeafData(&rec)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("leaf data\n got %x\nwant %x", got, want)
	}
	h, err := ledger.LeafHash(&rec)
	if err != nil {
		t.Fatal(err)
	}
	if wantH := sha256.Sum256(append([]byte{0}, want...)); h != wantH {
		t.Errorf("leaf hash %x, want SHA-256(0x00 || data) %x", h, wantH)
	}
}

// TestLeafHashCommitsToEveryField: a change to any field changes the leaf,
// and only the instant of At matters, not its time zone.
func TestLeafHashCommitsToEveryField(t *testing.T) {
	base := record(42)
	baseHash, _ := ledger.LeafHash(&base)
	tests := []struct {
		name   string
		change func(r *domain.AuditRecord)
		same   bool
	}{
		{"Index", func(r *domain.AuditRecord) { r.Index++ }, false},
		{"ID", func(r *domain.AuditRecord) { r.ID[15] ^= 1 }, false},
		{"AtSecond", func(r *domain.AuditRecord) { r.At = r.At.Add(time.Second) }, false},
		{"AtNanosecond", func(r *domain.AuditRecord) { r.At = r.At.Add(time.Nanosecond) }, false},
		{"ActorUser", func(r *domain.AuditRecord) { r.ActorUser += "x" }, false},
		{"ActorParty", func(r *domain.AuditRecord) { r.ActorParty = "" }, false},
		{"ActorRole", func(r *domain.AuditRecord) { r.ActorRole = "vendor" }, false},
		{"Action", func(r *domain.AuditRecord) { r.Action = "order.cancelled" }, false},
		{"SubjectType", func(r *domain.AuditRecord) { r.SubjectType = "lot" }, false},
		{"SubjectID", func(r *domain.AuditRecord) { r.SubjectID += "0" }, false},
		{"PayloadByte", func(r *domain.AuditRecord) { r.Payload = bytes.Clone(r.Payload); r.Payload[10] ^= 1 }, false},
		// Moving bytes between adjacent fields keeps the concatenation but
		// not the length prefixes.
		{"FieldBoundary", func(r *domain.AuditRecord) { r.Action, r.SubjectType = "order.placedorder", "" }, false},
		{"TimeZone", func(r *domain.AuditRecord) { r.At = r.At.In(time.FixedZone("CST", 8*3600)) }, true},
		{"Nothing", func(*domain.AuditRecord) {}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := base
			tt.change(&r)
			h, err := ledger.LeafHash(&r)
			if err != nil {
				t.Fatal(err)
			}
			if (h == baseHash) != tt.same {
				t.Errorf("hash equal to base: %v, want %v", h == baseHash, tt.same)
			}
		})
	}
}

func TestLeafHasherReuse(t *testing.T) {
	var lh ledger.LeafHasher
	for i := range int64(5) {
		r := record(i)
		got, err := lh.Hash(&r)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := ledger.LeafHash(&r)
		if got != want {
			t.Errorf("record %d: reused hasher gives %x, fresh %x", i, got, want)
		}
	}
}
