package chipgatetest

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/ledger"
	"github.com/chipgate/chipgate/internal/policy"
	"github.com/chipgate/chipgate/internal/screening"
	"github.com/chipgate/chipgate/internal/screening/fallback"
	"github.com/chipgate/chipgate/internal/service"
	"github.com/chipgate/chipgate/internal/store"
	"github.com/chipgate/chipgate/policies"
)

// embeddedIndex is the index of the embedded list. It is the package's one
// piece of shared state, on purpose: building the index takes a noticeable
// share of a second, tests build hundreds of services, and an index is
// read-only once built, so one per test binary is safe to share.
var embeddedIndex = sync.OnceValues(func() (*screening.Index, error) {
	ds, err := fallback.Load()
	if err != nil {
		return nil, err
	}
	return screening.NewIndex(ds.Entities), nil
})

// ScreeningIndex returns the restricted-party index of the list embedded
// in the binary (internal/screening/fallback), built once per test binary.
// Tests screen against it because it is always there, unlike the full
// lists, which live outside the repository.
func ScreeningIndex(tb testing.TB) *screening.Index {
	tb.Helper()
	idx, err := embeddedIndex()
	if err != nil {
		tb.Fatalf("chipgatetest: embedded screening list: %v", err)
	}
	return idx
}

// Policy loads the program's default policy (policies/default.yaml), the
// rules a deployment starts with and the ones tests decide under unless
// they test a variant.
func Policy(tb testing.TB) *policy.Policy {
	tb.Helper()
	pol, err := policy.Load("default.yaml", policies.Default)
	if err != nil {
		tb.Fatalf("chipgatetest: default policy: %v", err)
	}
	return pol
}

// QuietLog returns a logger that drops everything: tests provoke errors on
// purpose, and their logs would bury the one line that says why a test
// failed.
func QuietLog() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// NewService returns a service over st that decides under the default
// policy, screens against the embedded list, logs nothing and reads the
// time from now (the system clock when nil). It loads no data: for a test
// of loading itself; New gives the usual service with the demo loaded.
func NewService(tb testing.TB, st store.Store, now func() time.Time) *service.Service {
	tb.Helper()
	return service.New(st, service.Options{Log: QuietLog(), Now: now, Policy: Policy(tb), Screening: ScreeningIndex(tb), Webhooks: Webhooks()})
}

// WebhookKey is the key the kit's services derive webhook secrets from.
const WebhookKey = "chipgatetest webhook key"

// Webhooks are the kit's event settings: WebhookKey, receivers on the
// loopback interface allowed (httptest), and a quick pace, so that a
// test of retries and dead letters takes milliseconds: attempts 10 ms to
// 100 ms apart, each bounded by 2 s, the ledger looked at every 10 ms.
func Webhooks() service.WebhookOptions {
	return service.WebhookOptions{Key: []byte(WebhookKey), AllowPrivate: true, Backoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
		Timeout: 2 * time.Second, Poll: 10 * time.Millisecond}
}

// LedgerOrigin is the origin line of the checkpoints the kit's signers
// sign, so that a test can make a second key by the same name and show
// that the name alone earns no trust.
const LedgerOrigin = "test.chipgate/ledger"

// LedgerKey generates a fresh ledger key pair for origin, in the text
// forms the operator's key files hold.
func LedgerKey(tb testing.TB, origin string) (signerKey, verifierKey string) {
	tb.Helper()
	skey, vkey, err := ledger.GenerateKey(origin)
	if err != nil {
		tb.Fatalf("chipgatetest: ledger key: %v", err)
	}
	return skey, vkey
}

// NewSigner returns a ledger signer with a fresh key for LedgerOrigin.
// Each test gets its own key, as each deployment has its own.
func NewSigner(tb testing.TB) *service.LedgerSigner {
	tb.Helper()
	signer, err := service.NewLedgerSigner(LedgerKey(tb, LedgerOrigin))
	if err != nil {
		tb.Fatalf("chipgatetest: ledger signer: %v", err)
	}
	return signer
}

// AuditSize returns the number of records in st's audit log. A refused
// request must leave it as it was, and a command must grow it by exactly
// its records, so tests read it before and after.
func AuditSize(tb testing.TB, st store.Store) int64 {
	tb.Helper()
	ctx := context.Background()
	var n int64
	if err := st.View(ctx, func(tx store.Tx) error {
		var err error
		n, err = tx.AuditSize(ctx)
		return err
	}); err != nil {
		tb.Fatalf("chipgatetest: audit size: %v", err)
	}
	return n
}
