package attest_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/attest"
)

func key(t testing.TB) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// exchange runs the two steps with one landmark, rtt apart.
func exchange(t testing.TB, lm, dev ed25519.PrivateKey, name string, nonce []byte, rtt time.Duration) attest.Receipt {
	t0 := time.Unix(1_800_000_000, 0)
	p := attest.SignPing(lm, name, nonce, dev.Public().(ed25519.PublicKey), t0)
	r, err := attest.CheckEcho(lm, name, attest.SignEcho(dev, p), t0.Add(rtt), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestEvidenceVerifies(t *testing.T) {
	lmA, lmB, dev, other := key(t), key(t), key(t), key(t)
	nonce := make([]byte, attest.NonceSize)
	keys := func(name string) (ed25519.PublicKey, bool) {
		switch name {
		case "a":
			return lmA.Public().(ed25519.PublicKey), true
		case "b":
			return lmB.Public().(ed25519.PublicKey), true
		}
		return nil, false
	}
	ra := exchange(t, lmA, dev, "a", nonce, 3*time.Millisecond)
	rb := exchange(t, lmB, dev, "b", nonce, 40*time.Millisecond)
	ev := attest.SignEvidence(dev, "SN-1", nonce, []attest.Receipt{ra, rb})
	res := attest.Verify(ev, keys)
	if !res.DeviceSignatureValid || !res.Receipts[0].Valid || !res.Receipts[1].Valid || res.Receipts[1].RTTMS != 40 {
		t.Fatalf("honest evidence: %+v", res)
	}

	t.Run("ForgedReceipt", func(t *testing.T) {
		forged := exchange(t, other, dev, "a", nonce, time.Millisecond) // signed by a key that is not a's
		res := attest.Verify(attest.SignEvidence(dev, "SN-1", nonce, []attest.Receipt{forged}), keys)
		if !res.DeviceSignatureValid || res.Receipts[0].Valid {
			t.Fatalf("forged receipt accepted: %+v", res)
		}
	})
	t.Run("ShortenedRTT", func(t *testing.T) {
		r := rb
		r.ReceivedNS -= int64(30 * time.Millisecond) // the device claims a shorter trip
		res := attest.Verify(attest.SignEvidence(dev, "SN-1", nonce, []attest.Receipt{r}), keys)
		if res.Receipts[0].Valid {
			t.Fatal("a shortened round trip verified")
		}
	})
	t.Run("OtherSerial", func(t *testing.T) {
		e := ev
		e.Serial = "SN-2"
		if attest.Verify(e, keys).DeviceSignatureValid {
			t.Fatal("evidence moved to another serial verified")
		}
	})
	t.Run("ReceiptForAnotherDevice", func(t *testing.T) {
		r := exchange(t, lmA, other, "a", nonce, time.Millisecond)
		res := attest.Verify(attest.SignEvidence(dev, "SN-1", nonce, []attest.Receipt{r}), keys)
		if res.Receipts[0].Valid {
			t.Fatal("another device's receipt verified")
		}
	})
	t.Run("EchoByAnotherKey", func(t *testing.T) {
		t0 := time.Unix(1_800_000_000, 0)
		p := attest.SignPing(lmA, "a", nonce, dev.Public().(ed25519.PublicKey), t0)
		if _, err := attest.CheckEcho(lmA, "a", attest.SignEcho(other, p), t0, time.Second); err != attest.ErrBadEcho {
			t.Fatalf("echo by another key: %v", err)
		}
		if _, err := attest.CheckEcho(lmB, "a", attest.SignEcho(dev, p), t0, time.Second); err != attest.ErrNotOurPing {
			t.Fatalf("another landmark's ping: %v", err)
		}
	})
}
