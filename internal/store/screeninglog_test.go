package store_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/store"
	"github.com/chipgate/chipgate/internal/store/storetest"
)

// link is a chain link for tests: the previous hash and the seq.
func link(prev []byte, r *store.ScreeningLogRow) []byte {
	return append(slices.Clone(prev), byte(r.Seq))
}

// TestScreeningLog: AddScreeningLog appends entries to the chain (seq from
// 1, each hash linked to the previous, the head advanced); ScreeningLog
// reads them newest first (by instant, then id), limit at a time, from
// before an instant; a taken id is ECONFLICT and appends nothing of its
// batch, the head included; SealScreeningLog notes the seq sealed.
func TestScreeningLog(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		ctx := t.Context()
		st, _ := b.Open(t)
		var rows []store.ScreeningLogRow
		for i := range 5 {
			rows = append(rows, store.ScreeningLogRow{ID: newID(), At: t0.Add(time.Duration(i) * time.Second), Kind: "adhoc", Doc: []byte(fmt.Sprintf(`{"n":%d}`, i))})
		}
		mustTx(t, st, func(tx store.Tx) error { return tx.AddScreeningLog(ctx, rows[:2], link) })
		mustTx(t, st, func(tx store.Tx) error { return tx.AddScreeningLog(ctx, rows[2:], link) })
		head := func() store.ScreeningLogHead {
			return read(t, st, func(tx store.Tx) (store.ScreeningLogHead, error) { return tx.ScreeningLogHead(ctx, false) })
		}
		if h := head(); h.Seq != 5 || string(h.Hash) != "\x01\x02\x03\x04\x05" || h.Sealed != 0 {
			t.Fatalf("head %+v", h)
		}
		var chain []store.ScreeningLogRow
		mustTx(t, st, func(tx store.Tx) error {
			return tx.ScanScreeningLog(ctx, func(r store.ScreeningLogRow) error { chain = append(chain, r); return nil })
		})
		for i, r := range chain {
			if r.Seq != int64(i+1) || len(r.Hash) != i+1 || r.ID != rows[i].ID || !r.At.Equal(rows[i].At) || string(r.Doc) != string(rows[i].Doc) {
				t.Fatalf("chain[%d] = %+v", i, r)
			}
		}
		mustTx(t, st, func(tx store.Tx) error { return tx.SealScreeningLog(ctx, 5) })
		if h := head(); h.Sealed != 5 {
			t.Fatalf("sealed: %+v", h)
		}
		docs := func(before time.Time, limit int) []string {
			got := read(t, st, func(tx store.Tx) ([][]byte, error) { return tx.ScreeningLog(ctx, before, limit) })
			var out []string
			for _, d := range got {
				out = append(out, string(d))
			}
			return out
		}
		equal(t, "newest 3", docs(time.Time{}, 3), []string{`{"n":4}`, `{"n":3}`, `{"n":2}`})
		equal(t, "before the third", docs(t0.Add(2*time.Second), 10), []string{`{"n":1}`, `{"n":0}`})
		t.Run("ErrConflict", func(t *testing.T) {
			dup := []store.ScreeningLogRow{{ID: newID(), At: t0, Kind: "adhoc", Doc: []byte(`{"n":9}`)}, rows[0]}
			err := st.InTx(ctx, func(tx store.Tx) error { return tx.AddScreeningLog(ctx, dup, link) })
			if domain.ErrorCode(err) != domain.ECONFLICT {
				t.Fatalf("a taken id: %v, want ECONFLICT", err)
			}
			if got := docs(time.Time{}, 100); len(got) != 5 || slices.Contains(got, `{"n":9}`) {
				t.Fatalf("after a refused batch: %v", got)
			}
			if h := head(); h.Seq != 5 {
				t.Fatalf("the head after a refused batch: %+v", h)
			}
		})
	})
}
