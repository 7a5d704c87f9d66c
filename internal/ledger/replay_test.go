package ledger

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/chipgate/chipgate/internal/domain"
)

// replayFixture is a record carrying an order (its document the payload),
// a license and a counter, and the tables as that record leaves them.
func replayFixture(t testing.TB) (domain.AuditRecord, Hash, []StoredRow) {
	subject := []byte(`{"id":"o1","quantity":10,"status":"accepted"}`)
	rows := []StateRow{
		{Table: "orders", Key: "o1", Fields: []string{"p1", "", "accepted", "2026-02-02T09:00:00Z", "2026-02-02T09:00:00Z"}, HasDoc: true, Doc: subject},
		{Table: "licenses", Key: "l1", Fields: []string{"p1", "", "active", "2026-01-15T09:00:00Z", "2026-02-02T09:00:00Z"}, HasDoc: true, Doc: []byte(`{"id":"l1","remaining":90,"s":"a\"]}"}`)},
		{Table: "order_volumes", Key: "h200/CN", Fields: []string{"10"}},
	}
	p, err := WithState(subject, rows)
	if err != nil {
		t.Fatal(err)
	}
	leaf := Hash{7}
	stored := make([]StoredRow, len(rows))
	for i, r := range rows {
		stored[i] = StoredRow{Row: r, Index: 3, Hash: leaf[:]}
	}
	return domain.AuditRecord{Index: 3, Payload: p}, leaf, stored
}

// TestStateReplayInPlace: a record as the program writes it is decoded in
// place, without allocating once its rows are known; the tables as it left
// them agree, and each kind of change to a stored row is named as the
// reference decoder (SplitState) names it.
func TestStateReplayInPlace(t *testing.T) {
	rec, leaf, stored := replayFixture(t)
	tables := []string{"orders", "licenses", "order_volumes"}
	r := NewStateReplay(stored, tables, nil)
	if _, ok := r.decode(rec.Payload); !ok {
		t.Fatalf("the in-place decoder refused %s", rec.Payload)
	}
	if allocs := testing.AllocsPerRun(100, func() {
		if err := r.Apply(&rec, leaf); err != nil {
			t.Fatal(err)
		}
	}); allocs != 0 {
		t.Errorf("Apply allocates %.0f times a record", allocs)
	}
	if d := r.Diffs(); len(d) != 0 {
		t.Fatalf("clean tables: %v", d)
	}
	for name, change := range map[string]func(*StoredRow){
		"a field":        func(s *StoredRow) { s.Row.Fields = append([]string{"p2"}, s.Row.Fields[1:]...) },
		"the document":   func(s *StoredRow) { s.Row.Doc = append(append([]byte(nil), s.Row.Doc...), ' ') },
		"one field less": func(s *StoredRow) { s.Row.Fields = s.Row.Fields[1:] },
		"the index":      func(s *StoredRow) { s.Index = 2 },
		"the hash":       func(s *StoredRow) { s.Hash = []byte{1} },
		"no document":    func(s *StoredRow) { s.Row.HasDoc = false },
	} {
		for i := range stored {
			changed := append([]StoredRow(nil), stored...)
			change(&changed[i])
			var got [2][]StateDiff
			for k, slow := range []bool{false, true} {
				r := NewStateReplay(changed, tables, nil)
				r.slow = slow
				if err := r.Apply(&rec, leaf); err != nil {
					t.Fatal(err)
				}
				got[k] = r.Diffs()
			}
			if !reflect.DeepEqual(got[0], got[1]) {
				t.Errorf("%s of row %d: in place %v, SplitState %v", name, i, got[0], got[1])
			}
			// A counter has no document to change.
			if noop := !stored[i].Row.HasDoc && (name == "the document" || name == "no document"); noop && len(got[0]) != 0 ||
				!noop && (len(got[0]) != 1 || got[0][0].Key != stored[i].Row.Key) {
				t.Errorf("%s of row %d: diffs %v", name, i, got[0])
			}
		}
	}
	// A column with an escape goes to SplitState, which finds the same.
	esc, err := WithState([]byte(`{"id":"o2"}`), []StateRow{{Table: "orders", Key: "o\"2", Fields: []string{"a\\b"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.decode(esc); ok {
		t.Fatalf("the in-place decoder took escapes: %s", esc)
	}
}

// FuzzStateDecoder: the in-place decoder and SplitState agree on every
// payload. Where the in-place decoder takes a record, the replay it leaves
// (each row's last record, whether it matches the stored row, the diffs)
// is the one SplitState's rows leave; where it does not, Apply's answer is
// SplitState's. stored is one stored row (table, key, doc) to compare with.
func FuzzStateDecoder(f *testing.F) {
	rec, _, stored := replayFixture(f)
	for _, s := range stored {
		f.Add(rec.Payload, s.Row.Table, s.Row.Key, s.Row.Doc)
	}
	f.Add([]byte(`{"_state":[["t","k",{"a":"]"}]],"x":1}`), "t", "k", []byte(`{"a":"]"}`))
	f.Add([]byte(`{"_state":[["t","k",{"a":"]"}]],"x":1}`), "t", "k", []byte(`{"a":"]"}}`))
	f.Add([]byte(`{"_state":[["t","k",{"a":1}],["t","k",null]]}`), "t", "k", []byte(`{}`))
	f.Add([]byte(`{"_state":[]}`), "t", "k", []byte(nil))
	f.Add([]byte(`{"_state":[["t","k","f",[1,{"b":"\\"}]]]}`), "t", "k", []byte(`[1,{"b":"\\"}]`))
	f.Fuzz(func(t *testing.T, payload []byte, table, key string, doc []byte) {
		st := []StoredRow{{Row: StateRow{Table: table, Key: key, Fields: []string{"f"}, HasDoc: len(doc) > 0, Doc: doc}, Index: 1, Hash: []byte{2}}}
		tables := []string{table, "t"}
		var diffs [2][]StateDiff
		var errs [2]error
		var reps [2]*StateReplay
		for k, slow := range []bool{false, true} {
			r := NewStateReplay(st, tables, nil)
			r.slow = slow
			for i := range 2 {
				if err := r.Apply(&domain.AuditRecord{Index: int64(i), Payload: payload}, Hash{byte(i + 1)}); err != nil {
					errs[k] = err
					break
				}
			}
			diffs[k], reps[k] = r.Diffs(), r
		}
		if fmt.Sprint(errs[0]) != fmt.Sprint(errs[1]) {
			t.Fatalf("in place: %v; SplitState: %v", errs[0], errs[1])
		}
		_, _, _, refErr := splitState(payload)
		if _, ok := reps[0].decode(payload); ok && refErr != nil {
			t.Fatalf("the in-place decoder took what SplitState refuses (%v): %q", refErr, payload)
		}
		if errs[0] != nil || errors.Is(refErr, ErrNoState) {
			return
		}
		if !reflect.DeepEqual(diffs[0], diffs[1]) {
			t.Fatalf("diffs in place %v, SplitState %v", diffs[0], diffs[1])
		}
		a, b := reps[0].rows, reps[1].rows
		if len(a) != len(b) {
			t.Fatalf("%d rows in place, %d by SplitState", len(a), len(b))
		}
		for i := range a {
			x, y := a[i], b[i]
			if x.key != y.key || x.written != y.written || x.index != y.index || x.leaf != y.leaf || x.same != y.same ||
				(!x.same && (x.docLen != y.docLen || !reflect.DeepEqual(decodeFields(x.fields), decodeFields(y.fields)))) {
				t.Fatalf("row %d: in place %+v, SplitState %+v", i, x, y)
			}
		}
	})
}
