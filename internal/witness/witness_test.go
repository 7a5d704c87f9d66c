package witness_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/chipgate/chipgate/internal/ledger"
	"github.com/chipgate/chipgate/internal/witness"
)

const origin = "chipgate.test/witness"

// logOf is a log the tests drive: a key and a tree of synthetic leaves.
type logOf struct {
	signer note.Signer
	vkey   string
	tiles  ledger.MemoryTiles
	size   uint64
}

func newLog(t testing.TB) *logOf {
	t.Helper()
	skey, vkey, err := ledger.GenerateKey(origin)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ledger.ParseSignerKey(skey)
	if err != nil {
		t.Fatal(err)
	}
	return &logOf{signer: s, vkey: vkey}
}

// grow appends n leaves and returns the signed checkpoint of the new tree.
func (l *logOf) grow(t testing.TB, n int) (ledger.Checkpoint, []byte) {
	t.Helper()
	leaves := make([]ledger.Hash, n)
	for i := range leaves {
		leaves[i] = ledger.HashLeafData([]byte(fmt.Sprint(l.size + uint64(i))))
	}
	root, err := ledger.Append(context.Background(), &l.tiles, l.size, leaves)
	if err != nil {
		t.Fatal(err)
	}
	l.size += uint64(n)
	c := ledger.Checkpoint{Origin: origin, Size: l.size, Root: root}
	signed, err := ledger.SignCheckpoint(l.signer, c)
	if err != nil {
		t.Fatal(err)
	}
	return c, signed
}

func (l *logOf) proof(t testing.TB, from, to uint64) []ledger.Hash {
	t.Helper()
	if from == 0 || from == to {
		return nil
	}
	p, err := ledger.ConsistencyProof(context.Background(), &l.tiles, from, to)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type rig struct {
	log      *logOf
	w        *witness.Witness
	cosigner *ledger.Cosigner
	state    string
	client   *witness.Client
	now      time.Time
}

func newRig(t *testing.T) *rig {
	t.Helper()
	l := newLog(t)
	skey, vkey, err := ledger.GenerateWitnessKey("witness.test/w1")
	if err != nil {
		t.Fatal(err)
	}
	c, err := ledger.ParseCosigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{log: l, cosigner: c, state: filepath.Join(t.TempDir(), "state"), now: time.Unix(1767225600, 0)}
	r.start(t)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	if r.client, err = witness.NewClient(srv.URL, vkey, srv.Client()); err != nil {
		t.Fatal(err)
	}
	return r
}

// start (re)starts the witness from its state file.
func (r *rig) start(t *testing.T) {
	t.Helper()
	v, _ := ledger.ParseVerifierKey(r.log.vkey)
	w, err := witness.New(witness.Config{Cosigner: r.cosigner, LogKey: v, StateFile: r.state, Now: func() time.Time { return r.now }})
	if err != nil {
		t.Fatal(err)
	}
	r.w = w
}

func (r *rig) ServeHTTP(rw http.ResponseWriter, req *http.Request) { r.w.ServeHTTP(rw, req) }

func TestRequestRoundTrip(t *testing.T) {
	l := newLog(t)
	l.grow(t, 10)
	_, signed := l.grow(t, 90)
	req := witness.Request{OldSize: 10, Proof: l.proof(t, 10, 100), Checkpoint: signed}
	body := req.Marshal()
	if !bytes.HasPrefix(body, []byte("old 10\n")) || !bytes.Contains(body, []byte("\n\n"+origin+"\n100\n")) {
		t.Fatalf("body:\n%s", body)
	}
	got, err := witness.ParseRequest(body)
	if err != nil || got.OldSize != 10 || len(got.Proof) != len(req.Proof) || !bytes.Equal(got.Checkpoint, signed) {
		t.Fatalf("parse: %+v %v", got, err)
	}
	for i := range got.Proof {
		if got.Proof[i] != req.Proof[i] {
			t.Fatalf("proof line %d", i)
		}
	}
	h := ledger.HashLeafData(nil).String()
	for _, bad := range []string{
		"", "old\n\nx", "old 01\n\nx", "old -1\n\nx", "old 1 \n\nx", "new 1\n\nx", "old 1\n" + h + "\nx",
		"old 1\nnot base64\n\nx", "old 1\n" + h[:40] + "\n\nx", "old 1\n\n", "old 1\n" + strings.Repeat(h+"\n", 64) + "\nx",
	} {
		if r, err := witness.ParseRequest([]byte(bad)); err == nil {
			t.Errorf("parsed %q as %+v", bad, r)
		}
	}
}

func FuzzParseRequest(f *testing.F) {
	f.Add([]byte("old 0\n\nchipgate.test/witness\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n— x AAAA\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := witness.ParseRequest(body)
		if err != nil {
			return
		}
		if !bytes.Equal(r.Marshal(), body) {
			t.Fatalf("%q parsed as %+v, which writes as %q", body, r, r.Marshal())
		}
	})
}

// TestAddCheckpoint walks the protocol over HTTP: each rule of
// tlog-witness with its status.
func TestAddCheckpoint(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	c10, s10 := r.log.grow(t, 10)

	// A first checkpoint from size 0.
	line, err := r.client.AddCheckpoint(ctx, 0, nil, s10)
	if err != nil {
		t.Fatal(err)
	}
	cosigned, _ := ledger.AddSignatureLines(s10, line)
	v, _ := ledger.ParseVerifierKey(r.log.vkey)
	if _, cs, err := ledger.Cosignatures(cosigned, v, []note.Verifier{r.client.Verifier()}); err != nil || len(cs) != 1 || !cs[0].Time.Equal(r.now) {
		t.Fatalf("cosignature %+v %v", cs, err)
	}
	if got, _, ok := r.w.Latest(); !ok || got != c10 {
		t.Fatalf("latest %+v", got)
	}
	// A stale old size: 409 with the witness's size.
	_, s30 := r.log.grow(t, 20)
	_, err = r.client.AddCheckpoint(ctx, 0, nil, s30)
	var ce *witness.ConflictError
	if !errors.As(err, &ce) || ce.Size != 10 {
		t.Fatalf("stale old size: %v", err)
	}
	// The same checkpoint again, from its own size: cosigned again.
	if _, err := r.client.AddCheckpoint(ctx, 10, nil, s10); err != nil {
		t.Fatalf("the same checkpoint again: %v", err)
	}
	// The next one with its proof.
	if _, err := r.client.AddCheckpoint(ctx, 10, r.log.proof(t, 10, 30), s30); err != nil {
		t.Fatal(err)
	}
	// The state survives a restart.
	r.start(t)
	if got, _, _ := r.w.Latest(); got.Size != 30 {
		t.Fatalf("after a restart: %+v", got)
	}

	_, s40 := r.log.grow(t, 10)
	other := newLog(t)
	_, foreign := other.grow(t, 40)
	strangerKey := newLog(t)
	forged, _ := ledger.SignCheckpoint(strangerKey.signer, ledger.Checkpoint{Origin: origin, Size: 40, Root: ledger.HashLeafData([]byte("x"))})
	unknown, _ := note.Sign(&note.Note{Text: "other.log\n40\n" + ledger.EmptyRoot().String() + "\n"}, other.signer)
	badProof := r.log.proof(t, 30, 40)
	badProof[0][0] ^= 1
	for _, tc := range []struct {
		name   string
		body   string
		status int
	}{
		{"UnknownLog", string(witness.Request{OldSize: 30, Checkpoint: unknown}.Marshal()), 404},
		{"NoValidSignature", string(witness.Request{OldSize: 30, Checkpoint: forged}.Marshal()), 403},
		{"AnotherLogsKeySameName", string(witness.Request{OldSize: 30, Checkpoint: foreign}.Marshal()), 403},
		{"OldLargerThanNew", string(witness.Request{OldSize: 50, Checkpoint: s40}.Marshal()), 400},
		{"BadProof", string(witness.Request{OldSize: 30, Proof: badProof, Checkpoint: s40}.Marshal()), 422},
		{"Malformed", "old 30\n", 400},
		{"NotANote", "old 30\n\n" + origin + "\n40\n", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Post(r.client.URL()+"/add-checkpoint", "text/plain", strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, body, tc.status)
			}
		})
	}
	if got, _, _ := r.w.Latest(); got.Size != 30 {
		t.Fatalf("a refused checkpoint moved the witness to %d", got.Size)
	}
	resp, err := http.Get(r.client.URL() + "/add-checkpoint")
	if err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %v %v", resp.Status, err)
	}
	resp.Body.Close()
	resp, err = http.Post(r.client.URL()+"/other", "text/plain", nil)
	if err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("another path: %v %v", resp.Status, err)
	}
	resp.Body.Close()
	// The raw 409 carries the size as text/x.tlog.size.
	resp, err = http.Post(r.client.URL()+"/add-checkpoint", "text/plain", bytes.NewReader(witness.Request{OldSize: 0, Checkpoint: s40}.Marshal()))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 409 || resp.Header.Get("Content-Type") != witness.SizeContentType || string(body) != "30\n" {
		t.Fatalf("409: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

// TestAddCheckpointSplitView: a log that signed two histories gets the
// second refused, and the witness keeps both notes as evidence.
func TestAddCheckpointSplitView(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	_, s10 := r.log.grow(t, 10)
	_, s20 := r.log.grow(t, 10)
	if _, err := r.client.AddCheckpoint(ctx, 0, nil, s20); err != nil {
		t.Fatal(err)
	}
	// Another history under the same key: same first 10 leaves, then others.
	fork := &logOf{signer: r.log.signer, vkey: r.log.vkey}
	fork.grow(t, 10)
	leaves := []ledger.Hash{ledger.HashLeafData([]byte("forged"))}
	if _, err := ledger.Append(ctx, &fork.tiles, 10, leaves); err != nil {
		t.Fatal(err)
	}
	fork.size = 11
	_, f20 := fork.grow(t, 9)
	_, f25 := fork.grow(t, 5)

	_, err := r.client.AddCheckpoint(ctx, 20, nil, f20)
	var we *witness.Error
	if !errors.As(err, &we) || we.Status != 409 {
		t.Fatalf("same size, another root: %v", err)
	}
	_, err = r.client.AddCheckpoint(ctx, 20, fork.proof(t, 20, 25), f25)
	if !errors.As(err, &we) || we.Status != 422 {
		t.Fatalf("an inconsistent checkpoint: %v", err)
	}
	// In process, the error carries the evidence: both signed notes.
	_, err = r.w.AddCheckpoint(ctx, 20, nil, f20)
	if !errors.As(err, &we) || we.Evidence == nil || !bytes.HasPrefix(we.Evidence.Notes[0], s20) || !bytes.Equal(we.Evidence.Notes[1], f20) {
		t.Fatalf("evidence: %+v", err)
	}
	files, _ := filepath.Glob(r.state + ".evidence/*")
	if len(files) != 3 {
		t.Fatalf("%d evidence files", len(files))
	}
	ev, _ := os.ReadFile(files[0])
	if !bytes.Contains(ev, f20) && !bytes.Contains(ev, f25) {
		t.Fatalf("evidence file:\n%s", ev)
	}
	_ = s10
}

// TestAddCheckpointConcurrent: of two requests from the same old size, one
// wins and the other gets 409; the witness never goes back.
func TestAddCheckpointConcurrent(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	_, s10 := r.log.grow(t, 10)
	if _, err := r.client.AddCheckpoint(ctx, 0, nil, s10); err != nil {
		t.Fatal(err)
	}
	_, s20 := r.log.grow(t, 10)
	_, s30 := r.log.grow(t, 10)
	p20, p30 := r.log.proof(t, 10, 20), r.log.proof(t, 10, 30)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, req := range []struct {
		p []ledger.Hash
		s []byte
	}{{p20, s20}, {p30, s30}} {
		wg.Go(func() { _, errs[i] = r.client.AddCheckpoint(ctx, 10, req.p, req.s) })
	}
	wg.Wait()
	var ce *witness.ConflictError
	if (errs[0] == nil) == (errs[1] == nil) || !(errors.As(errs[0], &ce) || errors.As(errs[1], &ce)) {
		t.Fatalf("errors %v, %v: want one success and one 409", errs[0], errs[1])
	}
}

func TestNewRefusesAForgedState(t *testing.T) {
	r := newRig(t)
	other := newLog(t)
	_, forged := other.grow(t, 5)
	if err := ledger.WriteNoteFile(r.state, forged); err != nil {
		t.Fatal(err)
	}
	v, _ := ledger.ParseVerifierKey(r.log.vkey)
	if _, err := witness.New(witness.Config{Cosigner: r.cosigner, LogKey: v, StateFile: r.state}); err == nil {
		t.Fatal("a witness started from a state its log never signed")
	}
	if err := os.Chmod(r.state, 0o666); err != nil {
		t.Fatal(err)
	}
	if _, err := witness.New(witness.Config{Cosigner: r.cosigner, LogKey: v, StateFile: r.state}); err == nil || !strings.Contains(err.Error(), "0666") {
		t.Fatalf("a world-writable state: %v", err)
	}
}
