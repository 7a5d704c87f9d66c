package main_test

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite" // to tamper with a stored record

	"github.com/chipgate/chipgate/internal/chipgatetest"
	"github.com/chipgate/chipgate/internal/demo"
	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/store/storetest"
)

// buildBinary compiles the chipgate command once per test binary run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "chipgate")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	return bin
}

var urlRe = regexp.MustCompile(`http://127\.0\.0\.1:\d+`)

// start runs the binary with args and waits for it to print its URL.
func start(t *testing.T, bin string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	// Defaults relative to the working directory (key files beside a
	// PostgreSQL server's process) land in a temporary one, not the tree.
	cmd.Dir = t.TempDir()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	found := make(chan string, 1)
	var mu sync.Mutex
	var printed []string // the server's last lines, for a failure message
	var scanners sync.WaitGroup
	scan := func(r io.Reader) {
		defer scanners.Done()
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			mu.Lock()
			if printed = append(printed, sc.Text()); len(printed) > 40 {
				printed = printed[1:]
			}
			mu.Unlock()
			// A URL in a warning (a witness that did not answer) is not
			// the server's.
			warning := strings.Contains(sc.Text(), `"level":"WARN"`) || strings.Contains(sc.Text(), `"level":"ERROR"`)
			if u := urlRe.FindString(sc.Text()); u != "" && !warning {
				select {
				case found <- u:
				default:
				}
			}
		}
	}
	scanners.Add(2)
	go scan(stdout)
	go scan(stderr)
	exited := make(chan struct{})
	go func() { scanners.Wait(); close(exited) }()
	said := func() string {
		mu.Lock()
		defer mu.Unlock()
		return strings.Join(printed, "\n")
	}
	select {
	case u := <-found:
		return cmd, u
	case <-exited: // both pipes closed: the server ended without a URL
		select {
		case u := <-found:
			return cmd, u
		default:
		}
		t.Fatalf("%s %s ended without printing a URL:\n%s", filepath.Base(bin), strings.Join(args, " "), said())
	case <-time.After(60 * time.Second):
		t.Fatalf("the server printed no URL within 60 s:\n%s", said())
	}
	return nil, ""
}

// stop sends SIGTERM and expects a clean exit.
func stop(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no exit within 20 s of SIGTERM")
	}
}

func TestDemoEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "demo.db")
	tokens := filepath.Join(dir, "tokens.json")
	cmd, url := start(t, bin, "demo", "--addr", "127.0.0.1:0", "--db", db, "--tokens-file", tokens)

	creds := chipgatetest.ReadTokens(t, tokens)
	want := []string{"nvidia", "us-commerce", "cn-mofcom", "bytedance", "alibaba", "tencent", "cn-university-lab",
		"deepcurrent-ai", "us-cloud-a", "us-cloud-b", "eu-research", "us-testlab", "carrier", "auditor"}
	for _, slug := range want {
		if creds[slug].Token == "" {
			t.Errorf("tokens file has no token for %s", slug)
		}
	}
	if st, err := os.Stat(tokens); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("tokens file mode = %v, want 0600", st.Mode().Perm())
	}
	api := &chipgatetest.Client{TB: t, URL: url, Creds: creds}
	if r := api.Do("", "GET", "/healthz", nil); r.Status != 200 || !strings.Contains(string(r.Body), `"ok"`) {
		t.Fatalf("healthz: %d %s", r.Status, r.Body)
	}
	r := api.Do("bytedance", "GET", "/api/v1/me", nil)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"party_slug":"bytedance"`) || !strings.Contains(string(r.Body), `"role":"buyer"`) {
		t.Fatalf("me: %d %s", r.Status, r.Body)
	}
	if r := api.Do("", "GET", "/api/v1/me", nil); r.Status != 401 {
		t.Fatalf("me without a token: %d", r.Status)
	}
	story := storyOnTheRoad(t, api)
	stop(t, cmd)

	// A second start reuses the database and replaces the tokens.
	cmd2, url2 := start(t, bin, "demo", "--addr", "127.0.0.1:0", "--db", db, "--tokens-file", tokens)
	if r := (&chipgatetest.Client{TB: t, URL: url2, Creds: creds}).Do("bytedance", "GET", "/api/v1/me", nil); r.Status != 401 {
		t.Errorf("an old demo token still works after a restart: %d", r.Status)
	}
	api2 := &chipgatetest.Client{TB: t, URL: url2, Creds: chipgatetest.ReadTokens(t, tokens)}
	r = api2.Do("us-commerce", "GET", "/api/v1/parties", nil)
	var parties []map[string]any
	if r.Status != 200 || json.Unmarshal(r.Body, &parties) != nil || len(parties) != len(want) {
		t.Fatalf("parties after restart: %d, %d parties", r.Status, len(parties))
	}
	// The restart shipped nothing more and raised no alert.
	if again := storyOnTheRoad(t, api2); again != story {
		t.Errorf("after a restart: %+v, before: %+v", again, story)
	}
	stop(t, cmd2)
}

// onTheRoad counts what the demo story put on the road.
type onTheRoad struct {
	Shipments, Delivered, DutyEntries, Alerts int
}

// storyOnTheRoad reads through the API the demo's shipments (as the
// vendor), the duty assessed in their month and the alerts (as the export
// authority), and checks there are some of each.
func storyOnTheRoad(t *testing.T, api *chipgatetest.Client) onTheRoad {
	t.Helper()
	var got onTheRoad
	r := api.Do("nvidia", "GET", "/api/v1/shipments", nil)
	var shipPage struct {
		Items []struct {
			Status string
			Duty   *struct {
				AssessedAt time.Time `json:"assessed_at"`
			}
		}
	}
	ships := &shipPage.Items
	if r.Status != 200 || json.Unmarshal(r.Body, &shipPage) != nil || len(*ships) < 4 {
		t.Fatalf("shipments: %d, %d shipments\n%s", r.Status, len(*ships), r.Body)
	}
	got.Shipments = len(*ships)
	var month string
	for _, s := range *ships {
		if s.Status == "delivered" {
			got.Delivered++
		}
		if s.Duty != nil {
			month = s.Duty.AssessedAt.Format("2006-01")
		}
	}
	if got.Delivered < 2 || month == "" {
		t.Fatalf("%d shipments delivered, duty assessed in %q", got.Delivered, month)
	}
	r = api.Do("us-commerce", "GET", "/api/v1/duty/remittance?month="+month, nil)
	var duty struct{ Entries []json.RawMessage }
	if r.Status != 200 || json.Unmarshal(r.Body, &duty) != nil || len(duty.Entries) == 0 {
		t.Fatalf("duty of %s: %d\n%s", month, r.Status, r.Body)
	}
	got.DutyEntries = len(duty.Entries)
	r = api.Do("us-commerce", "GET", "/api/v1/alerts", nil)
	var alerts struct{ Items []json.RawMessage }
	if r.Status != 200 || json.Unmarshal(r.Body, &alerts) != nil || len(alerts.Items) == 0 {
		t.Fatalf("alerts: %d\n%s", r.Status, r.Body)
	}
	got.Alerts = len(alerts.Items)
	return got
}

func TestOperatorSetupAndServe(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	dsns := map[string]string{"sqlite": filepath.Join(t.TempDir(), "prod.db")}
	if os.Getenv("CHIPGATE_TEST_POSTGRES") != "" {
		dsns["postgres"] = storetest.FreshPostgresDSN(t)
	}
	for name, dsn := range dsns {
		t.Run(name, func(t *testing.T) {
			run := func(args ...string) string {
				t.Helper()
				out, err := exec.Command(bin, append(args, "--db", dsn)...).CombinedOutput()
				if err != nil {
					t.Fatalf("chipgate %s: %v\n%s", strings.Join(args, " "), err, out)
				}
				return string(out)
			}
			if out := run("migrate"); !strings.Contains(out, "applied 0001_foundation.sql") {
				t.Fatalf("migrate: %s", out)
			}
			if out := run("migrate"); !strings.Contains(out, "up to date") {
				t.Fatalf("second migrate: %s", out)
			}
			run("party", "add", "--slug", "acme-lab", "--name", "ACME Test Lab", "--role", "lab", "--country", "US")
			var user struct{ ID string }
			if err := json.Unmarshal([]byte(run("user", "add", "--party", "acme-lab", "--name", "Ada", "--duty", "officer", "--duty", "administrator")), &user); err != nil {
				t.Fatal(err)
			}
			// Duties: what is given and no other; a bad one names --duty.
			if out := run("user", "list", "--party", "acme-lab"); !strings.Contains(out, user.ID) || !strings.Contains(out, "officer,administrator") {
				t.Fatalf("user list: %s", out)
			}
			if out := run("user", "duties", "--party", "acme-lab", "--user", user.ID, "--duty", "approver", "--duty", "officer", "--duty", "administrator"); !strings.Contains(out, `"approver"`) {
				t.Fatalf("user duties: %s", out)
			}
			if out, err := exec.Command(bin, "user", "add", "--db", dsn, "--party", "acme-lab", "--name", "B", "--duty", "boss").CombinedOutput(); err == nil || !strings.HasPrefix(string(out), "chipgate: --duty:") || strings.Count(strings.TrimSpace(string(out)), "\n") != 0 {
				t.Fatalf("bad duty: err %v, output %q", err, out)
			}
			// Single sign-on: the secret comes from a file and is never
			// printed.
			secret := filepath.Join(t.TempDir(), "secret")
			if err := os.WriteFile(secret, []byte("very-secret-value\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if out := run("identity", "provider", "--party", "acme-lab", "--issuer", "https://login.acme.example", "--client-id", "chipgate",
				"--client-secret-file", secret, "--name", "ACME SSO"); strings.Contains(out, "very-secret") || !strings.Contains(out, "login.acme.example") {
				t.Fatalf("identity provider: %s", out)
			}
			run("identity", "map", "--party", "acme-lab", "--group", "lab-staff", "--user", user.ID)
			if out := run("identity", "mappings", "--party", "acme-lab"); !strings.Contains(out, "lab-staff") || !strings.Contains(out, user.ID) {
				t.Fatalf("identity mappings: %s", out)
			}
			var tok struct{ ID, Token string }
			if err := json.Unmarshal([]byte(run("token", "issue", "--user", user.ID, "--label", "ops", "--ttl", "1h")), &tok); err != nil {
				t.Fatal(err)
			}
			// A bad flag value is one line naming the flag, and writes nothing.
			out, err := exec.Command(bin, "party", "add", "--db", dsn, "--slug", "x", "--name", "X", "--role", "king", "--country", "US").CombinedOutput()
			if err == nil || !strings.Contains(string(out), "--role") || strings.Count(strings.TrimSpace(string(out)), "\n") != 0 {
				t.Fatalf("bad role: err %v, output %q", err, out)
			}
			srv, url := start(t, bin, "serve", "--db", dsn, "--addr", "127.0.0.1:0")
			api := &chipgatetest.Client{TB: t, URL: url, Creds: map[string]demo.Credential{"acme-lab": {Role: domain.RoleLab, Token: tok.Token}}}
			r := api.Do("acme-lab", "GET", "/api/v1/me", nil)
			if r.Status != 200 || !strings.Contains(string(r.Body), `"party_slug":"acme-lab"`) {
				t.Fatalf("me: %d %s", r.Status, r.Body)
			}
			run("token", "revoke", "--id", tok.ID)
			if r := api.Do("acme-lab", "GET", "/api/v1/me", nil); r.Status != 401 {
				t.Fatalf("revoked token: %d", r.Status)
			}
			stop(t, srv)
		})
	}
}

func TestVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	out, err := exec.CommandContext(context.Background(), buildBinary(t), "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "chipgate ") {
		t.Fatalf("version: %q %v", out, err)
	}

}

// TestLedgerVerifyExportAuditAndTamper: a served log verifies, exports and
// audits offline; one changed byte in one stored record fails verify at
// that index.
func TestLedgerVerifyExportAuditAndTamper(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "demo.db")
	cmd, url := start(t, bin, "demo", "--addr", "127.0.0.1:0", "--db", db, "--tokens-file", filepath.Join(dir, "tokens.json"))
	if r := (&chipgatetest.Client{TB: t, URL: url}).Do("", "GET", "/api/v1/ledger/key", nil); r.Status != 401 {
		t.Fatalf("ledger key without a token: %d %s", r.Status, r.Body)
	}
	stop(t, cmd)
	if _, err := os.Stat(filepath.Join(dir, "chipgate-ledger.key")); err != nil {
		t.Fatalf("no ledger key beside the database: %v", err)
	}
	run := func(args ...string) (string, error) {
		out, err := exec.Command(bin, args...).CombinedOutput()
		return string(out), err
	}
	out, err := run("ledger", "verify", "--db", db)
	if err != nil || !strings.Contains(out, "ledger verify OK") {
		t.Fatalf("verify: %v\n%s", err, out)
	}
	exp := filepath.Join(dir, "export")
	if out, err := run("ledger", "export", "--db", db, "--out", exp); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	if out, err := run("ledger", "audit", exp); err != nil || !strings.Contains(out, "ledger audit OK") {
		t.Fatalf("audit: %v\n%s", err, out)
	}

	// Change one byte of record 5's payload behind the server's back.
	raw, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`UPDATE audit_log SET payload = CAST(replace(CAST(payload AS TEXT), '"', '''') AS BLOB) WHERE idx = 5`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	out, err = run("ledger", "verify", "--db", db)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(out, "entry 5") {
		t.Fatalf("verify after tampering: %v\n%s\nwant exit 1 naming entry 5", err, out)
	}
	// The export taken before still audits: it is the evidence.
	if out, err := run("ledger", "audit", exp); err != nil {
		t.Fatalf("audit of the earlier export: %v\n%s", err, out)
	}
}

// TestTwoReplicasOnePostgres: two servers on one PostgreSQL database take
// writes at once; the log stays gapless and ordered, checkpoints come from
// one signer at a time and never fork, and the whole log verifies.
func TestTwoReplicasOnePostgres(t *testing.T) {
	if testing.Short() || os.Getenv("CHIPGATE_TEST_POSTGRES") == "" {
		t.Skip("needs CHIPGATE_TEST_POSTGRES and the binary")
	}
	bin := buildBinary(t)
	dsn := storetest.FreshPostgresDSN(t)
	dir := t.TempDir()
	key := filepath.Join(dir, "ledger.key")
	// The first replica loads the demo (and creates the shared key).
	demoCmd, _ := start(t, bin, "demo", "--addr", "127.0.0.1:0", "--db", dsn, "--ledger-key", key, "--tokens-file", filepath.Join(dir, "tokens.json"))
	stop(t, demoCmd)
	creds := chipgatetest.ReadTokens(t, filepath.Join(dir, "tokens.json"))
	a, urlA := start(t, bin, "serve", "--db", dsn, "--addr", "127.0.0.1:0", "--ledger-key", key, "--checkpoint-every", "200ms")
	b, urlB := start(t, bin, "serve", "--db", dsn, "--addr", "127.0.0.1:0", "--ledger-key", key, "--checkpoint-every", "200ms")
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			api := &chipgatetest.Client{URL: []string{urlA, urlB}[i%2], Creds: creds}
			body := fmt.Sprintf(`{"label":"replica write %d"}`, i)
			resp, err := api.Send("us-commerce", "POST", "/api/v1/tokens", body)
			if err != nil {
				errs <- err
				return
			}
			if resp.Status != 201 {
				errs <- fmt.Errorf("write %d: status %d", i, resp.Status)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // a checkpoint or two
	stop(t, a)
	stop(t, b)
	out, err := exec.Command(bin, "ledger", "verify", "--db", dsn).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ledger verify OK") {
		t.Fatalf("verify: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
