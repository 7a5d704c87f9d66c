package ledger_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/chipgate/chipgate/internal/ledger"
)

const testOrigin = "chipgate.test/ledger"

type testKey struct {
	signer   note.Signer
	verifier note.Verifier
	vkey     string
}

func newTestKey(t testing.TB, origin string) testKey {
	t.Helper()
	skey, vkey, err := ledger.GenerateKey(origin)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ledger.ParseSignerKey(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := ledger.ParseVerifierKey(vkey + "\n")
	if err != nil {
		t.Fatal(err)
	}
	return testKey{s, v, vkey}
}

func TestCheckpointRoundTrip(t *testing.T) {
	k := newTestKey(t, testOrigin)
	root := ledger.HashLeafData([]byte("root"))
	c := ledger.Checkpoint{Origin: testOrigin, Size: 12345, Root: root}
	signed, err := ledger.SignCheckpoint(k.signer, c)
	if err != nil {
		t.Fatal(err)
	}
	wantText := testOrigin + "\n12345\n" + root.String() + "\n\n— " + testOrigin + " "
	if !strings.HasPrefix(string(signed), wantText) {
		t.Errorf("note\n%s\ndoes not start with\n%s", signed, wantText)
	}
	got, err := ledger.OpenCheckpoint(signed, k.verifier)
	if err != nil {
		t.Fatal(err)
	}
	if got != c {
		t.Errorf("opened %+v, want %+v", got, c)
	}
}

func TestOpenCheckpointRejects(t *testing.T) {
	k := newTestKey(t, testOrigin)
	other := newTestKey(t, testOrigin) // same name, different key
	stranger := newTestKey(t, "other.log")
	root := ledger.HashLeafData([]byte("root"))
	good, _ := ledger.SignCheckpoint(k.signer, ledger.Checkpoint{Origin: testOrigin, Size: 10, Root: root})
	sign := func(s note.Signer, text string) []byte {
		b, err := note.Sign(&note.Note{Text: text}, s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name   string
		signed []byte
	}{
		{"OtherKeySameName", mustSign(t, other.signer, ledger.Checkpoint{Origin: testOrigin, Size: 10, Root: root})},
		{"OtherLog", mustSign(t, stranger.signer, ledger.Checkpoint{Origin: "other.log", Size: 10, Root: root})},
		{"SizeChanged", bytes.Replace(good, []byte("\n10\n"), []byte("\n11\n"), 1)},
		{"RootChanged", bytes.Replace(good, []byte(root.String()[:4]), []byte("AAAA"), 1)},
		{"SignatureCut", good[:len(good)-10]},
		{"OriginOtherThanKey", sign(k.signer, "other.log\n10\n"+root.String()+"\n")},
		{"ShortRoot", sign(k.signer, testOrigin+"\n10\nAAAA\n")},
		{"NegativeSize", sign(k.signer, testOrigin+"\n-1\n"+root.String()+"\n")},
		{"EmptyTreeWrongRoot", sign(k.signer, testOrigin+"\n0\n"+root.String()+"\n")},
		{"TooFewLines", sign(k.signer, testOrigin+"\n10\n")},
		{"Huge", append(bytes.Repeat([]byte("x"), 20000), good...)},
		{"Empty", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if c, err := ledger.OpenCheckpoint(tt.signed, k.verifier); err == nil {
				t.Errorf("accepted as %+v", c)
			}
		})
	}
}

func mustSign(t testing.TB, s note.Signer, c ledger.Checkpoint) []byte {
	t.Helper()
	b, err := ledger.SignCheckpoint(s, c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestKeyAndSignErrors(t *testing.T) {
	for _, origin := range []string{"", "a b", "a+b", "a\nb"} {
		if _, _, err := ledger.GenerateKey(origin); err == nil {
			t.Errorf("GenerateKey(%q) succeeded", origin)
		}
	}
	if _, err := ledger.ParseSignerKey("garbage"); err == nil {
		t.Error("ParseSignerKey accepted garbage")
	}
	if _, err := ledger.ParseVerifierKey("garbage"); err == nil {
		t.Error("ParseVerifierKey accepted garbage")
	}
	k := newTestKey(t, testOrigin)
	if _, err := ledger.SignCheckpoint(k.signer, ledger.Checkpoint{Origin: "other.log", Size: 1}); err == nil {
		t.Error("signed a checkpoint for another origin")
	}
	if _, err := ledger.SignCheckpoint(k.signer, ledger.Checkpoint{Origin: testOrigin, Size: 0, Root: ledger.HashLeafData(nil)}); err == nil {
		t.Error("signed an empty tree with a non-empty root")
	}
}

// TestSignNext is the guard: the log never signs two inconsistent
// checkpoints.
func TestSignNext(t *testing.T) {
	ctx := context.Background()
	k := newTestKey(t, testOrigin)
	leaves := syntheticLeaves(1000)
	m := mustTree(t, leaves, 1000)
	cp := func(size uint64) ledger.Checkpoint {
		r, err := ledger.Root(ctx, m, size)
		if err != nil {
			t.Fatal(err)
		}
		return ledger.Checkpoint{Origin: testOrigin, Size: size, Root: r}
	}
	proofBetween := func(a, b uint64) []ledger.Hash {
		p, err := ledger.ConsistencyProof(ctx, m, a, b)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	// A rewritten history: the same first 500 leaves, then others.
	forked := append(append([]ledger.Hash(nil), leaves[:500]...), syntheticLeaves(1500)[1000:1500]...)
	fm := mustTree(t, forked, 1000)
	froot, _ := ledger.Root(ctx, fm, 1000)
	fproof, _ := ledger.ConsistencyProof(ctx, fm, 600, 1000)
	empty := ledger.Checkpoint{Origin: testOrigin, Size: 0, Root: ledger.EmptyRoot()}
	last600 := cp(600)

	tests := []struct {
		name string
		last *ledger.Checkpoint
		next ledger.Checkpoint
		path []ledger.Hash
		ok   bool
		fork bool
	}{
		{"First", nil, cp(600), nil, true, false},
		{"FromEmpty", &empty, cp(600), nil, true, false},
		{"Extends", &last600, cp(1000), proofBetween(600, 1000), true, false},
		{"SameAgain", &last600, cp(600), nil, true, false},
		{"SameSizeOtherRoot", &last600, ledger.Checkpoint{Origin: testOrigin, Size: 600, Root: froot}, nil, false, true},
		{"RewrittenHistory", &last600, ledger.Checkpoint{Origin: testOrigin, Size: 1000, Root: froot}, fproof, false, false},
		{"WrongProof", &last600, cp(1000), proofBetween(601, 1000), false, false},
		{"NoProof", &last600, cp(1000), nil, false, false},
		{"Shrinks", &last600, cp(500), proofBetween(500, 600), false, false},
		{"OtherOrigin", &ledger.Checkpoint{Origin: "other.log", Size: 600, Root: last600.Root}, cp(1000), proofBetween(600, 1000), false, false},
		{"EmptyWithWrongRoot", &ledger.Checkpoint{Origin: testOrigin, Size: 0, Root: froot}, cp(600), nil, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			signed, err := ledger.SignNext(k.signer, tt.last, tt.next, tt.path)
			if tt.ok != (err == nil) {
				t.Fatalf("error %v, want ok=%v", err, tt.ok)
			}
			var fe *ledger.ForkError
			if errors.As(err, &fe) != tt.fork {
				t.Errorf("error %v, want fork=%v", err, tt.fork)
			}
			if err == nil {
				if got, err := ledger.OpenCheckpoint(signed, k.verifier); err != nil || got != tt.next {
					t.Errorf("signed note opens as %+v, %v", got, err)
				}
			} else if signed != nil {
				t.Error("a refusal returned a signed note")
			}
		})
	}
}

func TestFindFork(t *testing.T) {
	a, b := ledger.HashLeafData([]byte("a")), ledger.HashLeafData([]byte("b"))
	tests := []struct {
		name string
		cps  []ledger.Checkpoint
		fork bool
	}{
		{"None", nil, false},
		{"Distinct", []ledger.Checkpoint{{Origin: "o", Size: 1, Root: a}, {Origin: "o", Size: 2, Root: b}}, false},
		{"Repeated", []ledger.Checkpoint{{Origin: "o", Size: 1, Root: a}, {Origin: "o", Size: 1, Root: a}}, false},
		{"Fork", []ledger.Checkpoint{{Origin: "o", Size: 2, Root: a}, {Origin: "o", Size: 1, Root: a}, {Origin: "o", Size: 2, Root: b}}, true},
		{"OtherLogs", []ledger.Checkpoint{{Origin: "o", Size: 1, Root: a}, {Origin: "p", Size: 1, Root: b}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ledger.FindFork(tt.cps)
			var fe *ledger.ForkError
			if errors.As(err, &fe) != tt.fork {
				t.Fatalf("FindFork = %v, want fork=%v", err, tt.fork)
			}
			if tt.fork && (fe.Size != 2 || fe.Root1 != a || fe.Root2 != b) {
				t.Errorf("fork %+v", fe)
			}
		})
	}
}

// TestDeletedTailFailsConsistency: once a checkpoint of size 1000 is
// published, a log that lost entries 900 to 999 can neither show a smaller
// tree nor grow a new tail that is consistent with it.
func TestDeletedTailFailsConsistency(t *testing.T) {
	ctx := context.Background()
	leaves := syntheticLeaves(1200)
	orig := mustTree(t, leaves[:1000], 1000)
	r1000, _ := ledger.Root(ctx, orig, 1000)
	published := ledger.Checkpoint{Origin: testOrigin, Size: 1000, Root: r1000}

	regrown := append(append([]ledger.Hash(nil), leaves[:900]...), leaves[1000:1200]...)
	m := mustTree(t, regrown, 1100)
	tests := []struct {
		name string
		size uint64
	}{
		{"Shrunk", 900},
		{"RegrownSameSize", 1000},
		{"RegrownLarger", 1100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, _ := ledger.Root(ctx, m, tt.size)
			next := ledger.Checkpoint{Origin: testOrigin, Size: tt.size, Root: root}
			var path []ledger.Hash
			if tt.size > 1000 {
				path, _ = ledger.ConsistencyProof(ctx, m, 1000, tt.size)
			}
			if err := ledger.CheckConsistency(published, next, path); err == nil {
				t.Fatal("a log with a deleted tail is consistent with the published checkpoint")
			}
		})
	}
	// The honest log, for contrast, is consistent.
	full := mustTree(t, leaves, 1200)
	r1200, _ := ledger.Root(ctx, full, 1200)
	p, _ := ledger.ConsistencyProof(ctx, full, 1000, 1200)
	if err := ledger.CheckConsistency(published, ledger.Checkpoint{Origin: testOrigin, Size: 1200, Root: r1200}, p); err != nil {
		t.Fatalf("the honest log: %v", err)
	}
}

func TestSignTree(t *testing.T) {
	ctx := context.Background()
	k := newTestKey(t, testOrigin)
	leaves := syntheticLeaves(700)
	m := mustTree(t, leaves[:300], 300)
	var last *ledger.Checkpoint
	size := uint64(300)
	for _, step := range []struct {
		appendTo, sign uint64
	}{{300, 0}, {300, 300}, {300, 300}, {700, 700}} {
		if step.appendTo > size {
			if _, err := ledger.Append(ctx, m, size, leaves[size:step.appendTo]); err != nil {
				t.Fatal(err)
			}
			size = step.appendTo
		}
		c, signed, err := ledger.SignTree(ctx, m, k.signer, last, step.sign)
		if err != nil {
			t.Fatalf("sign at %d after %+v: %v", step.sign, last, err)
		}
		if opened, err := ledger.OpenCheckpoint(signed, k.verifier); err != nil || opened != c {
			t.Fatalf("opened %+v, %v; want %+v", opened, err, c)
		}
		last = &c
	}
	// A tree rewritten below the last signed size is refused.
	forked := mustTree(t, append(append([]ledger.Hash(nil), leaves[:500]...), syntheticLeaves(1000)[800:1000]...), 700)
	if _, _, err := ledger.SignTree(ctx, forked, k.signer, last, 700); err == nil {
		t.Fatal("signed a rewritten tree of the same size")
	}
	if _, err := ledger.Append(ctx, forked, 700, leaves[:10]); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ledger.SignTree(ctx, forked, k.signer, last, 710); err == nil {
		t.Fatal("signed a larger tree that rewrote history")
	}
	if _, _, err := ledger.SignTree(ctx, m, k.signer, last, 800); err == nil {
		t.Fatal("signed a size beyond the stored tree")
	}
}
