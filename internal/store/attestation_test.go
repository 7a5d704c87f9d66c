package store_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/store"
	"github.com/chipgate/chipgate/internal/store/storetest"
)

// TestAttestation: a serial has one device key and a key one serial (a
// second of either is ECONFLICT, a serial never shipped EINVALID); a
// challenge is used once — its first use is fresh, every later one not —
// and an unknown nonce is ENOTFOUND; expired challenges are forgotten; a
// key's last attested check-in is its newest.
func TestAttestation(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		t.Run("DeviceKeys", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			buyer := seedParty(t, st, "bytedance")
			sh := newDoc(buyer.ID, "order", "delivered", t0)
			mustTx(t, st, func(tx store.Tx) error {
				if err := tx.PutDoc(ctx, store.KindShipment, sh, true); err != nil {
					return err
				}
				if err := tx.ClaimSerials(ctx, sh.ID, []string{"SN-1", "SN-2"}); err != nil {
					return err
				}
				return tx.AddDeviceKey(ctx, "SN-1", "KEY-1", sh.ID)
			})
			for name, c := range map[string]struct {
				serial, key string
				code        string
			}{
				"ErrSerialHasKey":  {"SN-1", "KEY-9", domain.ECONFLICT},
				"ErrKeyIsAnothers": {"SN-2", "KEY-1", domain.ECONFLICT},
				"ErrNeverShipped":  {"SN-7", "KEY-7", domain.EINVALID},
			} {
				err := st.InTx(ctx, func(tx store.Tx) error { return tx.AddDeviceKey(ctx, c.serial, c.key, sh.ID) })
				wantCode(t, name, err, c.code)
			}
		})
		t.Run("Challenges", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			mustTx(t, st, func(tx store.Tx) error {
				for _, n := range []string{"N1", "N2"} {
					if err := tx.AddChallenge(ctx, store.Challenge{Nonce: n, Serial: "SN-1", IssuedAt: t0, ExpiresAt: t0.Add(5 * time.Minute)}); err != nil {
						return err
					}
				}
				return nil
			})
			wantCode(t, "AddChallenge(taken)", st.InTx(ctx, func(tx store.Tx) error {
				return tx.AddChallenge(ctx, store.Challenge{Nonce: "N1", Serial: "SN-2", IssuedAt: t0, ExpiresAt: t0})
			}), domain.ECONFLICT)
			use := func(n string, at time.Time) (c store.Challenge, fresh bool, err error) {
				err = st.InTx(ctx, func(tx store.Tx) error {
					c, fresh, err = tx.UseChallenge(ctx, n, at)
					return err
				})
				return
			}
			c, fresh, err := use("N1", t0.Add(time.Minute))
			if err != nil || !fresh || c.Serial != "SN-1" || !c.IssuedAt.Equal(t0) || !c.ExpiresAt.Equal(t0.Add(5*time.Minute)) || c.UsedAt == nil {
				t.Fatalf("first use: %+v fresh=%v err=%v", c, fresh, err)
			}
			c, fresh, err = use("N1", t0.Add(2*time.Minute))
			if err != nil || fresh || !c.UsedAt.Equal(t0.Add(time.Minute)) {
				t.Fatalf("second use: %+v fresh=%v err=%v (want not fresh, first use kept)", c, fresh, err)
			}
			_, _, err = use("N9", t0)
			wantCode(t, "UseChallenge(unknown)", err, domain.ENOTFOUND)
			var n int64
			mustTx(t, st, func(tx store.Tx) (err error) {
				n, err = tx.DeleteChallengesBefore(ctx, t0.Add(time.Hour))
				return err
			})
			if n != 2 {
				t.Fatalf("DeleteChallengesBefore removed %d, want 2", n)
			}
			_, _, err = use("N2", t0)
			wantCode(t, "UseChallenge(forgotten)", err, domain.ENOTFOUND)
		})
		t.Run("ConcurrentUsesOneFresh", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			mustTx(t, st, func(tx store.Tx) error {
				return tx.AddChallenge(ctx, store.Challenge{Nonce: "N", Serial: "SN-1", IssuedAt: t0, ExpiresAt: t0.Add(time.Minute)})
			})
			var fresh atomic.Int32
			var wg sync.WaitGroup
			errs := make(chan error, 20)
			for range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs <- st.InTx(ctx, func(tx store.Tx) error {
						_, f, err := tx.UseChallenge(ctx, "N", t0)
						if f {
							fresh.Add(1)
						}
						return err
					})
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			if fresh.Load() != 1 {
				t.Fatalf("%d of 20 concurrent uses of one nonce were fresh, want 1", fresh.Load())
			}
		})
		t.Run("LastAttested", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			mustTx(t, st, func(tx store.Tx) error {
				if err := tx.AddAttestedCheckIn(ctx, newID(), "SN-1", "KEY-1", t0, []byte("old")); err != nil {
					return err
				}
				if err := tx.AddAttestedCheckIn(ctx, newID(), "SN-1", "KEY-1", t0.Add(time.Hour), []byte("new")); err != nil {
					return err
				}
				return tx.AddCheckIn(ctx, newID(), "SN-1", t0.Add(2*time.Hour), []byte("unsigned"))
			})
			got := read(t, st, func(tx store.Tx) ([]byte, error) { return tx.LastAttestedCheckIn(ctx, "KEY-1") })
			if string(got) != "new" {
				t.Fatalf("LastAttestedCheckIn = %q, want new", got)
			}
			_, err := readErr(st, func(tx store.Tx) ([]byte, error) { return tx.LastAttestedCheckIn(ctx, "KEY-2") })
			wantCode(t, "LastAttestedCheckIn(unknown key)", err, domain.ENOTFOUND)
		})
	})
}
