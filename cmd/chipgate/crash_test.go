package main_test

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/chipgate/chipgate/internal/chipgatetest"
	"github.com/chipgate/chipgate/internal/store/storetest"
)

// TestCrashSafety starts the real server, drives writes from several
// clients, SIGKILLs it at random moments (20 times), restarts it and checks
// that every acknowledged write is there, that no write is half there (a
// token without its audit record, or the reverse), and that the ledger
// verifies. On SQLite and, when configured, PostgreSQL.
//
// Besides tokens, the clients ship: the vendor creates shipments from
// accepted orders, the carrier and the lab move them along their routes
// (custody events, lab tests, the export and import checks), and devices
// check in. After the crashes every acknowledged shipment, event, test and
// check-in is there, and checkShippingConsistent finds nothing half there:
// no shipment without its lot draw-down, serials or records, no lot, order,
// license, permit or export counter that disagrees with the shipments.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	// The small cut of the real lists in the repository (testdata/README.md).
	lists, _ := filepath.Abs("../../testdata/lists")
	dir := t.TempDir()
	dsns := map[string]string{"sqlite": filepath.Join(dir, "crash.db")}
	if os.Getenv("CHIPGATE_TEST_POSTGRES") != "" {
		dsns["postgres"] = storetest.FreshPostgresDSN(t)
	}
	for name, dsn := range dsns {
		t.Run(name, func(t *testing.T) {
			key := filepath.Join(dir, name+".key")
			tokens := filepath.Join(dir, name+"-tokens.json")
			args := []string{"--db", dsn, "--addr", "127.0.0.1:0", "--ledger-key", key, "--lists", lists}
			cmd, _ := start(t, bin, append([]string{"demo", "--tokens-file", tokens}, args...)...)
			stop(t, cmd)
			creds := chipgatetest.ReadTokens(t, tokens)
			bearer := creds["us-commerce"].Token
			bearers := map[string]string{}
			for slug, c := range creds {
				bearers[slug] = c.Token
			}
			load := newShippingLoad(bearers)
			// A short idempotency lease, so that retries after a restart
			// take over what the killed server left in flight.
			const lease = 100 * time.Millisecond
			acked := map[string]bool{}
			var mu sync.Mutex
			r := rand.New(rand.NewPCG(1, 2))
			// At least 20 kills, and more (up to 60) until 20 writes were
			// acknowledged: on a loaded machine a round may ack none.
			rounds := 0
			for round := 0; round < 20 || (len(acked) < 20 && round < 60); round++ {
				rounds = round + 1
				srv, url := start(t, bin, append([]string{"serve", "--idempotency-lease", lease.String()}, args...)...)
				load.url = url
				if round == 0 {
					load.setUp(t)
				}
				stopAt := time.Now().Add(time.Duration(50+r.IntN(400)) * time.Millisecond)
				var wg sync.WaitGroup
				wg.Add(1)
				go func() {
					defer wg.Done()
					load.run(round, stopAt.Add(200*time.Millisecond))
				}()
				for c := 0; c < 2; c++ {
					wg.Add(1)
					go func(c int) {
						defer wg.Done()
						for i := 0; time.Now().Before(stopAt.Add(200 * time.Millisecond)); i++ {
							label := fmt.Sprintf("crash-%d-%d-%d", round, c, i)
							req, _ := http.NewRequest("POST", url+"/api/v1/tokens", strings.NewReader(`{"label":"`+label+`"}`))
							req.Header.Set("Content-Type", "application/json")
							req.Header.Set("Authorization", "Bearer "+bearer)
							resp, err := http.DefaultClient.Do(req)
							if err != nil {
								return // the server died under us: this write was not acknowledged
							}
							resp.Body.Close()
							if resp.StatusCode == 201 {
								mu.Lock()
								acked[label] = true
								mu.Unlock()
							}
						}
					}(c)
				}
				time.Sleep(time.Until(stopAt))
				if err := srv.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				_ = srv.Wait()
				wg.Wait()
			}
			// Restart once more: everything acknowledged is there, and every
			// request that got no answer gets a definitive one when retried
			// with its key after the lease.
			srv, url := start(t, bin, append([]string{"serve", "--idempotency-lease", lease.String()}, args...)...)
			load.url = url
			time.Sleep(lease)
			if !load.retry() || len(load.pending) > 0 {
				t.Fatalf("%d requests retried with their Idempotency-Key got no definitive answer", len(load.pending))
			}
			var listed []struct{ Label string }
			if err := (&chipgatetest.Client{TB: t, URL: url, Creds: creds}).Do("us-commerce", "GET", "/api/v1/tokens", nil).Decode(&listed); err != nil {
				t.Fatal(err)
			}
			present := map[string]bool{}
			for _, k := range listed {
				present[k.Label] = true
			}
			missing := 0
			for label := range acked {
				if !present[label] {
					missing++
				}
			}
			if len(acked) < 20 || missing > 0 {
				t.Fatalf("%d acknowledged writes, %d missing after %d kills", len(acked), missing, rounds)
			}
			load.checkAcknowledged(t)
			stop(t, srv)
			// Nothing half-written: every token has its audit record and
			// every token record its token.
			driver, q := "sqlite", `SELECT
				(SELECT count(*) FROM tokens t WHERE NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.subject_type = 'token' AND a.subject_id = t.id)),
				(SELECT count(*) FROM audit_log a WHERE a.action = 'token.issued' AND NOT EXISTS (SELECT 1 FROM tokens t WHERE t.id = a.subject_id))`
			if name == "postgres" {
				driver, q = "pgx", strings.ReplaceAll(strings.ReplaceAll(q, "a.subject_id = t.id", "a.subject_id = t.id::text"), "t.id = a.subject_id", "t.id::text = a.subject_id")
			}
			db, err := sql.Open(driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var orphanTokens, orphanRecords int
			if err := db.QueryRow(q).Scan(&orphanTokens, &orphanRecords); err != nil {
				t.Fatal(err)
			}
			if orphanTokens != 0 || orphanRecords != 0 {
				t.Fatalf("half-written: %d tokens without a record, %d records without a token", orphanTokens, orphanRecords)
			}
			checkShippingConsistent(t, db, load.checkins, load.ghosts)
			out, err := exec.Command(bin, "ledger", "verify", "--db", dsn).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "ledger verify OK") {
				t.Fatalf("ledger verify after the crashes: %v\n%s", err, out)
			}
			t.Logf("%d acknowledged token writes and %s survived 20 SIGKILLs; %s", len(acked), load.counts(), strings.Fields(string(out))[4])
		})
	}
}
