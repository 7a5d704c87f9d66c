package attest_test

import (
	"crypto/ed25519"
	"encoding/json"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/attest"
)

// FuzzVerify feeds Verify evidence as the program decodes it from a request
// body: it never panics, and evidence whose bytes differ from the genuine
// one's in any signed field never verifies with every signature valid.
func FuzzVerify(f *testing.F) {
	lm, dev := key(f), key(f)
	nonce := make([]byte, attest.NonceSize)
	t0 := time.Unix(1_800_000_000, 0)
	p := attest.SignPing(lm, "beijing", nonce, dev.Public().(ed25519.PublicKey), t0)
	r, err := attest.CheckEcho(lm, "beijing", attest.SignEcho(dev, p), t0.Add(2*time.Millisecond), time.Second)
	if err != nil {
		f.Fatal(err)
	}
	genuine := attest.SignEvidence(dev, "SN-1", nonce, []attest.Receipt{r})
	raw, _ := json.Marshal(genuine)
	f.Add(raw)
	f.Add([]byte(`{"version":"chipgate-checkin/v1","receipts":[{}]}`))
	keys := func(name string) (ed25519.PublicKey, bool) {
		if name == "beijing" {
			return lm.Public().(ed25519.PublicKey), true
		}
		return nil, false
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var ev attest.Evidence
		if json.Unmarshal(data, &ev) != nil {
			return
		}
		res := attest.Verify(ev, keys)
		allValid := res.DeviceSignatureValid && len(res.Receipts) > 0
		for _, c := range res.Receipts {
			allValid = allValid && c.Valid
		}
		if !allValid {
			return
		}
		// Everything verified: then what the device signed and what the
		// landmarks timed must be the genuine evidence's.
		if ev.Serial != genuine.Serial || string(ev.Nonce) != string(genuine.Nonce) || string(ev.DeviceKey) != string(genuine.DeviceKey) || len(ev.Receipts) != 1 ||
			ev.Receipts[0].SentNS != r.SentNS || ev.Receipts[0].ReceivedNS != r.ReceivedNS || ev.Receipts[0].Landmark != r.Landmark {
			t.Fatalf("altered evidence verified: %+v", ev)
		}
	})
}
