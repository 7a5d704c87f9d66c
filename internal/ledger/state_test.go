package ledger

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/chipgate/chipgate/internal/domain"
)

// TestStateRoundTrip: post-states put into a payload come back out exactly
// (escapes, a document equal to the payload as null, an empty subject), the
// result is JSON whose other members are the payload's, and a row's content
// hash is the same from the record as from the row.
func TestStateRoundTrip(t *testing.T) {
	subject := []byte(`{"id":"o1","status":"accepted"}`)
	rows := []StateRow{
		{Table: "orders", Key: "o1", Fields: []string{"p", "", "accepted", "2026-02-02T09:00:00Z", "2026-02-02T09:00:00.000001Z"}, HasDoc: true, Doc: subject},
		{Table: "licenses", Key: "l1", Fields: []string{"p", "r\"ef\\", "active\n\u00e9", "t", "u"}, HasDoc: true, Doc: []byte(`{"remaining":5,"s":"a\"]}"}`)},
		{Table: "order_volumes", Key: "h200/CN", Fields: []string{"20"}},
	}
	out, err := WithState(subject, rows)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil || m["status"] != "accepted" || m["_state"] == nil {
		t.Fatalf("not JSON with the subject's members: %v %s", err, out)
	}
	if !bytes.Contains(out, []byte(`"2026-02-02T09:00:00.000001Z",null]`)) {
		t.Fatalf("the order's document is not written as null: %s", out)
	}
	got, sub, err := SplitState(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sub, subject) || len(got) != len(rows) {
		t.Fatalf("subject %s, %d rows", sub, len(got))
	}
	for i := range rows {
		if got[i].Hash() != rows[i].Hash() || got[i].Key != rows[i].Key || !bytes.Equal(got[i].Doc, rows[i].Doc) {
			t.Errorf("row %d: %+v, want %+v", i, got[i], rows[i])
		}
	}
	// A change to any field or the document changes the hash.
	changed := rows[1]
	changed.Doc = []byte(`{"remaining":6,"s":"a\"]}"}`)
	if changed.Hash() == rows[1].Hash() {
		t.Fatal("a changed document hashes alike")
	}
	moved := StateRow{Table: "licenses", Key: "l", Fields: []string{"1p"}}
	if moved.Hash() == (&StateRow{Table: "licenses", Key: "l1", Fields: []string{"p"}}).Hash() {
		t.Fatal("bytes moved between fields hash alike")
	}
	// An empty subject, no rows, a payload without post-states.
	if out, err := WithState([]byte(`{}`), rows[2:]); err != nil || !bytes.HasSuffix(out, []byte(`]}`)) {
		t.Fatalf("empty subject: %s %v", out, err)
	} else if _, sub, err := SplitState(out); err != nil || string(sub) != "{}" {
		t.Fatalf("empty subject back: %s %v", sub, err)
	}
	if _, _, err := SplitState(subject); !errors.Is(err, ErrNoState) {
		t.Fatalf("no state: %v", err)
	}
	if _, err := WithState([]byte(`[1]`), rows); err == nil {
		t.Fatal("a payload that is not an object")
	}
	for _, bad := range []string{`{"_state":[`, `{"_state":[["t"]]}`, `{"_state":[["t","k",{"a":"]]}`, `{"_state":[["t","k"]]x`, `{"_state":[["t","k",null,"x"]]}`} {
		if _, _, err := SplitState([]byte(bad)); err == nil {
			t.Errorf("SplitState(%s) parsed", bad)
		}
	}
}

// TestStateReplayCompare: the last post-state of a row wins; Compare names a
// changed row, a row the log never wrote, a row the table lost, a row that
// names an older record and one whose record hash is wrong, and lets a
// zero counter without a record stand.
func TestStateReplayCompare(t *testing.T) {
	lic := func(rem string) StateRow {
		return StateRow{Table: "licenses", Key: "l1", Fields: []string{rem}, HasDoc: true, Doc: []byte(`{"r":` + rem + `}`)}
	}
	recs := []domain.AuditRecord{{Index: 0, Payload: []byte(`{"a":1}`)}}
	for i, row := range []StateRow{lic("10"), lic("7")} {
		p, err := WithState([]byte(`{"x":1}`), []StateRow{row, {Table: "orders", Key: "o" + string(rune('1'+i)), Fields: []string{"a"}, HasDoc: true, Doc: []byte(`{}`)}})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, domain.AuditRecord{Index: int64(i + 1), Payload: p})
	}
	leaves := make([]Hash, len(recs))
	for i := range recs {
		leaves[i] = Hash{byte(i + 1)}
	}
	zero := func(r StateRow) bool { return r.Table == "order_volumes" && r.Fields[0] == "0" }
	tables := []string{"licenses", "orders", "order_volumes"}
	// compare replays the log against stored and returns the diffs.
	compare := func(stored []StoredRow) (*StateReplay, []StateDiff) {
		r := NewStateReplay(stored, tables, zero)
		for i := range recs {
			if err := r.Apply(&recs[i], leaves[i]); err != nil {
				t.Fatal(err)
			}
		}
		return r, r.Diffs()
	}
	good := []StoredRow{
		{Row: lic("7"), Index: 2, Hash: leaves[2][:]},
		{Row: StateRow{Table: "orders", Key: "o1", Fields: []string{"a"}, HasDoc: true, Doc: []byte(`{}`)}, Index: 1, Hash: leaves[1][:]},
		{Row: StateRow{Table: "orders", Key: "o2", Fields: []string{"a"}, HasDoc: true, Doc: []byte(`{}`)}, Index: 2, Hash: leaves[2][:]},
		{Row: StateRow{Table: "order_volumes", Key: "h200/US", Fields: []string{"0"}}},
	}
	r, d := compare(good)
	if last, ok := r.Last(StateKey{"licenses", "l1"}); r.Records != 3 || r.Len() != 3 || !ok || last != 2 {
		t.Fatalf("replay: %d records, %d rows, l1 last written by %d", r.Records, r.Len(), last)
	}
	if len(d) != 0 {
		t.Fatalf("clean tables: %v", d)
	}
	bad := append([]StoredRow(nil), good...)
	bad[0] = StoredRow{Row: lic("10"), Index: 1, Hash: leaves[1][:]}                                 // an older genuine version
	bad[1].Hash = leaves[2][:]                                                                       // the wrong record hash
	bad[2] = StoredRow{Row: StateRow{Table: "order_volumes", Key: "h200/CN", Fields: []string{"5"}}} // never written
	_, d = compare(bad)
	want := []string{"licenses l1", "order_volumes h200/CN", "orders o1", "orders o2"}
	if len(d) != len(want) {
		t.Fatalf("diffs %v", d)
	}
	for i, w := range want {
		if d[i].Table+" "+d[i].Key != w {
			t.Errorf("diff %d is %s, want %s", i, d[i], w)
		}
	}
	if d[0].Index != 2 || d[3].Reason != "the log wrote this row; the table has none" {
		t.Errorf("diffs %v", d)
	}
}
