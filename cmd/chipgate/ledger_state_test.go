package main

import (
	"strings"
	"testing"

	"github.com/chipgate/chipgate/internal/chipgatetest"
	"github.com/chipgate/chipgate/internal/store/storetest"
)

// TestLedgerVerifyState: `ledger verify --state` replays the demo story's
// whole log and finds every state row as its last record left it; a counter
// raised and a serial moved to another shipment behind the program's back
// are each named, and the command exits 1; so is an edited screening log
// entry.
func TestLedgerVerifyState(t *testing.T) {
	e := chipgatetest.New(t, chipgatetest.WithStory())
	e.Sign()
	out, err := runChipgate(t, "ledger", "verify", "--db", e.DSN, "--state")
	if err != nil || !strings.Contains(out, "\nstate:       OK: ") || !strings.Contains(out, "\nscreenings:  OK: ") {
		t.Fatalf("the demo story: %v\n%s", err, out)
	}
	raw := storetest.OpenRaw(t, e.DSN)
	if raw.Exec(t, "UPDATE order_volumes SET units = units + 1000 WHERE product = 'h200' AND region = 'CN'") != 1 {
		t.Fatal("no CN counter")
	}
	raw.Exec(t, "UPDATE serials SET shipment_id = (SELECT MIN(shipment_id) FROM serials) WHERE serial = (SELECT MAX(serial) FROM serials)")
	out, err = runChipgate(t, "ledger", "verify", "--db", e.DSN, "--state")
	if exitCode(err) != 1 || !strings.Contains(out, "state:       FAILED: 2 of ") ||
		!strings.Contains(out, "  order_volumes h200/CN (record ") || !strings.Contains(out, "  serials DEMO-") {
		t.Fatalf("exit %d %v\n%s", exitCode(err), err, out)
	}
	// A screening log entry edited behind the program's back is named.
	if raw.Exec(t, "UPDATE screening_log SET doc = ? WHERE seq = 2", []byte(`{"query":"someone else"}`)) != 1 {
		t.Fatal("no screening log entry 2")
	}
	out, err = runChipgate(t, "ledger", "verify", "--db", e.DSN, "--state")
	if exitCode(err) != 1 || !strings.Contains(out, "screenings:  FAILED") || !strings.Contains(out, "  entry seq 2 (") {
		t.Fatalf("exit %d %v\n%s", exitCode(err), err, out)
	}
}
