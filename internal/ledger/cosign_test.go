package ledger_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	tdnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"

	"github.com/chipgate/chipgate/internal/ledger"
)

type testWitness struct {
	cosigner *ledger.Cosigner
	skey     string
	vkey     string
	verifier note.Verifier
}

func newTestWitness(t testing.TB, name string) testWitness {
	t.Helper()
	skey, vkey, err := ledger.GenerateWitnessKey(name)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ledger.ParseCosigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := ledger.NewCosignatureVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return testWitness{c, skey, vkey, v}
}

// cosign returns signed with w's cosignature appended.
func (w testWitness) cosign(t testing.TB, signed []byte, at time.Time) []byte {
	t.Helper()
	text := signed[:bytes.Index(signed, []byte("\n\n"))+1]
	line, err := w.cosigner.Cosign(text, at)
	if err != nil {
		t.Fatal(err)
	}
	out, err := ledger.AddSignatureLines(signed, line)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCosignatureRoundTripAndInterop(t *testing.T) {
	k := newTestKey(t, testOrigin)
	w := newTestWitness(t, "witness.test/w1")
	if !strings.HasPrefix(w.vkey, "witness.test/w1+") || w.cosigner.VerifierKey() != w.vkey {
		t.Fatalf("verifier key %q", w.vkey)
	}
	root := ledger.HashLeafData([]byte("root"))
	signed := mustSign(t, k.signer, ledger.Checkpoint{Origin: testOrigin, Size: 42, Root: root})
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cosigned := w.cosign(t, signed, at)

	// Ours verifies ours, with the log's signature.
	cp, cosigs, err := ledger.Cosignatures(cosigned, k.verifier, []note.Verifier{w.verifier})
	if err != nil || cp.Size != 42 || len(cosigs) != 1 || cosigs[0].Witness != "witness.test/w1" || !cosigs[0].Time.Equal(at) {
		t.Fatalf("cosignatures: %+v %+v %v", cp, cosigs, err)
	}
	// The log's own checkpoint check ignores the cosignature.
	if _, err := ledger.OpenCheckpoint(cosigned, k.verifier); err != nil {
		t.Fatal(err)
	}
	// transparency-dev/formats verifies ours...
	tv, err := tdnote.NewVerifierForCosignatureV1(w.vkey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := note.Open(cosigned, note.VerifierList(tv)); err != nil {
		t.Fatalf("transparency-dev/formats rejects our cosignature: %v", err)
	}
	// ...and we verify theirs, made with the same key.
	ts, err := tdnote.NewSignerForCosignatureV1(w.skey)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := note.Open(signed, note.VerifierList(k.verifier))
	theirs, err := note.Sign(n, ts)
	if err != nil {
		t.Fatal(err)
	}
	if _, cosigs, err := ledger.Cosignatures(theirs, k.verifier, []note.Verifier{w.verifier}); err != nil || len(cosigs) != 1 {
		t.Fatalf("their cosignature: %+v %v", cosigs, err)
	}
}

func TestCosignaturesCountsOnlyValidOnes(t *testing.T) {
	k := newTestKey(t, testOrigin)
	w1, w2, w3 := newTestWitness(t, "w1.test"), newTestWitness(t, "w2.test"), newTestWitness(t, "w3.test")
	signed := mustSign(t, k.signer, ledger.Checkpoint{Origin: testOrigin, Size: 7, Root: ledger.HashLeafData([]byte("r"))})
	at := time.Unix(1767225600, 0)
	both := w2.cosign(t, w1.cosign(t, signed, at), at)
	ws := []note.Verifier{w1.verifier, w2.verifier, w3.verifier, w1.verifier}
	if _, cosigs, err := ledger.Cosignatures(both, k.verifier, ws); err != nil || len(cosigs) != 2 {
		t.Fatalf("two witnesses (one listed twice, one absent): %+v %v", cosigs, err)
	}
	// A cosignature on another checkpoint, pasted onto this one, is not valid.
	other := mustSign(t, k.signer, ledger.Checkpoint{Origin: testOrigin, Size: 8, Root: ledger.HashLeafData([]byte("r"))})
	line := w3.cosign(t, other, at)[len(other):]
	pasted, err := ledger.AddSignatureLines(both, line)
	if err != nil {
		t.Fatal(err)
	}
	if _, cosigs, err := ledger.Cosignatures(pasted, k.verifier, ws); err != nil || len(cosigs) != 2 {
		t.Fatalf("a pasted cosignature counted: %+v %v", cosigs, err)
	}
	// The log's key cannot pass for a witness's.
	if _, err := ledger.NewCosignatureVerifier(k.vkey); err == nil {
		t.Fatal("a log key (type 0x01) was accepted as a cosignature key")
	}
	// Without the log's signature nothing counts.
	stranger := newTestKey(t, testOrigin)
	if _, _, err := ledger.Cosignatures(both, stranger.verifier, ws); err == nil {
		t.Fatal("cosignatures opened with another log key")
	}
}

func TestCosignRejectsWhatIsNotACheckpoint(t *testing.T) {
	w := newTestWitness(t, "w.test")
	for _, text := range []string{"", "one\n", "a\nb\n", "a\nb\nc"} {
		if _, err := w.cosigner.Cosign([]byte(text), time.Unix(1, 0)); err == nil {
			t.Errorf("cosigned %q", text)
		}
	}
	if _, err := w.cosigner.Cosign([]byte("a\n1\nb\n"), time.Unix(-1, 0)); err == nil {
		t.Error("cosigned before 1970")
	}
	for _, lines := range []string{"x\n", "— a\n", "— a b", "— a b c\n"} {
		if _, err := ledger.AddSignatureLines([]byte("a\n1\nr\n\n— a b\n"), []byte(lines)); err == nil {
			t.Errorf("added %q", lines)
		}
	}
	for _, bad := range []string{"", "w.test+00000000+AAAA", "w.test+zz+" + strings.Repeat("A", 44)} {
		if _, err := ledger.NewCosignatureVerifier(bad); err == nil {
			t.Errorf("parsed verifier key %q", bad)
		}
	}
	// A key ID that does not match the key.
	parts := strings.SplitN(w.vkey, "+", 3)
	if _, err := ledger.NewCosignatureVerifier(parts[0] + "+00000000+" + parts[2]); err == nil {
		t.Error("accepted a key ID that does not match")
	}
	if bytes.Contains([]byte(w.skey), []byte(w.vkey)) {
		t.Error("the verifier key is inside the signing key")
	}
}

// FuzzCosignatures feeds arbitrary notes to the cosignature check: it never
// panics, and counts a witness only if its line verifies.
func FuzzCosignatures(f *testing.F) {
	k := newTestKey(f, testOrigin)
	w := newTestWitness(f, "w.fuzz")
	signed := mustSign(f, k.signer, ledger.Checkpoint{Origin: testOrigin, Size: 3, Root: ledger.HashLeafData([]byte("r"))})
	f.Add(w.cosign(f, signed, time.Unix(1767225600, 0)))
	f.Add(signed)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, cosigs, err := ledger.Cosignatures(b, k.verifier, []note.Verifier{w.verifier})
		if err != nil {
			return
		}
		if len(cosigs) > 1 {
			t.Fatalf("%d cosignatures from one witness", len(cosigs))
		}
		if len(cosigs) == 1 {
			if _, err := note.Open(b, note.VerifierList(w.verifier)); err != nil {
				t.Fatalf("counted a cosignature note.Open rejects: %v", err)
			}
		}
	})
}
