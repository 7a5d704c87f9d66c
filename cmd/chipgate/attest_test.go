package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chipgate/chipgate/internal/chipgatetest"
	"github.com/chipgate/chipgate/internal/server"
)

// TestAgentCommands: a device key made with "agent keygen", a check-in with
// "agent checkin" through two loopback landmarks (the vendor's telemetry
// reporting a serial the lab never gave that key: unknown_device_key), and
// the auditor's "agent verify-evidence" on the evidence it wrote: exit 0
// with the policy that holds the landmarks' keys, exit 1 naming the
// landmark when a receipt is altered or the policy does not know the key.
func TestAgentCommands(t *testing.T) {
	env := chipgatetest.New(t)
	lms, keys := chipgatetest.Landmarks(t, "beijing", "shanghai")
	env.Service.SetPolicy(chipgatetest.PolicyWithLandmarkKeys(t, keys))
	api := env.Serve(server.Options{RateLimit: -1})
	dir := t.TempDir()
	keyFile, evFile, polFile := filepath.Join(dir, "device.key"), filepath.Join(dir, "evidence.json"), filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(polFile, chipgatetest.PolicyFileWithLandmarkKeys(t, keys), 0o644); err != nil {
		t.Fatal(err)
	}
	pub, err := runChipgate(t, "agent", "keygen", "--key", keyFile)
	if err != nil || len(strings.TrimSpace(pub)) != 44 {
		t.Fatalf("keygen: %v %q", err, pub)
	}
	out, err := runChipgate(t, "agent", "checkin", "--server", api.URL, "--token", env.Creds["nvidia"].Token, "--serial", "GRAY-7", "--key", keyFile,
		"--landmark", "beijing="+lms[0].URL, "--landmark", "shanghai="+lms[1].URL, "--evidence", evFile)
	if err != nil || !strings.Contains(out, `"unknown_device_key"`) || !strings.Contains(out, "telemetry.attestation") {
		t.Fatalf("checkin: %v\n%s", err, out)
	}
	out, err = runChipgate(t, "agent", "verify-evidence", evFile, "--policy", polFile, "--device-key", strings.TrimSpace(pub), "--site", "39.9042,116.4074")
	if err != nil || !strings.Contains(out, "ok   device signature") || !strings.Contains(out, "ok   beijing: round trip") || !strings.Contains(out, "site is within the bound") {
		t.Fatalf("verify-evidence: %v\n%s", err, out)
	}
	// Without the landmarks' keys (the default policy has none) nothing
	// a landmark signed can be checked.
	if out, err = runChipgate(t, "agent", "verify-evidence", evFile); exitCode(err) != 1 || !strings.Contains(out, "FAIL beijing: no public key") {
		t.Fatalf("without landmark keys: %v\n%s", err, out)
	}
	// A round trip shortened after the landmark signed it.
	var ev map[string]any
	raw, _ := os.ReadFile(evFile)
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // nanoseconds do not fit a float64
	if err := dec.Decode(&ev); err != nil {
		t.Fatal(err)
	}
	r := ev["receipts"].([]any)[1].(map[string]any)
	r["received_ns"] = r["sent_ns"]
	raw, _ = json.Marshal(ev)
	tampered := filepath.Join(dir, "tampered.json")
	if err := os.WriteFile(tampered, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err = runChipgate(t, "agent", "verify-evidence", tampered, "--policy", polFile); exitCode(err) != 1 || !strings.Contains(out, "FAIL shanghai: the receipt's signature") || !strings.Contains(out, "ok   beijing") {
		t.Fatalf("tampered: %v\n%s", err, out)
	}
}
