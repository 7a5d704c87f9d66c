package store_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/store"
	"github.com/chipgate/chipgate/internal/store/storetest"
)

// TestGroupCommit checks that write transactions committed together stay
// apart. SQLite runs the InTx calls waiting in its queue in one transaction,
// each in a savepoint: a command that fails (fn returns an error, a method
// fails, fn panics) rolls back alone, and the others of its group commit,
// their audit indexes gapless; a command whose context ends while it waits
// in the queue does not run. On PostgreSQL, where each InTx is a
// transaction of its own, the same must hold.
func TestGroupCommit(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		t.Run("FailuresRollBackAlone", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			taken := seedParty(t, st, "taken")
			release := holdWriter(t, st)
			const n = 40 // fewer than a group's most, so all commit together
			outcomes := make([]string, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					defer func() {
						if r := recover(); r != nil {
							outcomes[i] = fmt.Sprint("panic ", r)
						}
					}()
					err := st.InTx(ctx, func(tx store.Tx) error {
						p := newParty(fmt.Sprintf("p-%02d", i), domain.RoleBuyer)
						if err := tx.CreateParty(ctx, &p); err != nil {
							return err
						}
						rec := audit("party.created", p.Slug)
						if err := tx.AppendAudit(ctx, &rec); err != nil {
							return err
						}
						switch i % 4 {
						case 1:
							return errRollback
						case 2:
							dup := newParty("taken", domain.RoleBuyer)
							return tx.CreateParty(ctx, &dup)
						case 3:
							panic(i)
						}
						return nil
					})
					outcomes[i] = "code " + domain.ErrorCode(err)
				})
			}
			waitQueued(t, st, n)
			release()
			wg.Wait()
			want := []string{taken.Slug}
			var subjects []string
			for i, got := range outcomes {
				w := []string{"code ", "code " + domain.EINTERNAL, "code " + domain.ECONFLICT, fmt.Sprint("panic ", i)}[i%4]
				if got != w {
					t.Errorf("command %d: %s, want %s", i, got, w)
				}
				if i%4 == 0 {
					want = append(want, fmt.Sprintf("p-%02d", i))
					subjects = append(subjects, fmt.Sprintf("p-%02d", i))
				}
			}
			var slugs []string
			for _, p := range read(t, st, func(tx store.Tx) ([]domain.Party, error) { return tx.Parties(ctx) }) {
				slugs = append(slugs, p.Slug)
			}
			slices.Sort(want)
			equal(t, "parties committed", slugs, want)
			var got []string
			for i, r := range read(t, st, func(tx store.Tx) ([]domain.AuditRecord, error) { return tx.AuditRecords(ctx, 0, 100) }) {
				if r.Index != int64(i) {
					t.Errorf("record %d has index %d", i, r.Index)
				}
				got = append(got, r.SubjectID)
			}
			slices.Sort(got)
			equal(t, "records committed", got, subjects)
		})

		t.Run("EndedWhileQueued", func(t *testing.T) {
			if b.Name != "sqlite" {
				t.Skip("only SQLite queues write transactions")
			}
			ctx := t.Context()
			st, _ := b.Open(t)
			release := holdWriter(t, st)
			cctx, cancel := context.WithCancel(ctx)
			var ran atomic.Bool
			errs := make([]error, 3)
			var wg sync.WaitGroup
			for i := range 3 {
				wg.Go(func() {
					c := ctx
					if i == 1 {
						c = cctx
					}
					errs[i] = st.InTx(c, func(tx store.Tx) error {
						if i == 1 {
							ran.Store(true)
						}
						p := newParty(fmt.Sprintf("p-%d", i), domain.RoleBuyer)
						return tx.CreateParty(ctx, &p)
					})
				})
				waitQueued(t, st, i+1) // in order
			}
			cancel()
			release()
			wg.Wait()
			if errs[0] != nil || errs[2] != nil {
				t.Fatalf("the commands around the canceled one: %v, %v", errs[0], errs[2])
			}
			wantCode(t, "the command canceled in the queue", errs[1], domain.EUNAVAILABLE)
			if ran.Load() {
				t.Error("the command canceled in the queue ran")
			}
			var slugs []string
			for _, p := range read(t, st, func(tx store.Tx) ([]domain.Party, error) { return tx.Parties(ctx) }) {
				slugs = append(slugs, p.Slug)
			}
			equal(t, "parties", slugs, []string{"p-0", "p-2"})
		})
	})
}

// holdWriter starts a write transaction that waits until the returned
// function is called: on SQLite, the InTx calls made meanwhile queue up and
// then commit as one group.
func holdWriter(t *testing.T, st store.Store) (release func()) {
	t.Helper()
	started, proceed, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- st.InTx(context.Background(), func(store.Tx) error {
			close(started)
			<-proceed
			return nil
		})
	}()
	<-started
	return func() {
		close(proceed)
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// waitQueued waits until n write transactions wait in st's queue (on
// PostgreSQL, which has none, it returns at once).
func waitQueued(t *testing.T, st store.Store, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		q := store.QueuedWrites(st)
		if q < 0 || q == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d write transactions queued, want %d", q, n)
		}
		time.Sleep(time.Millisecond)
	}
}
