package ledgerlog_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"golang.org/x/mod/sumdb/note"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/ledger"
	"github.com/chipgate/chipgate/internal/ledgerlog"
	"github.com/chipgate/chipgate/internal/witness"
)

const origin = "chipgate.test/ledgerlog"

// db is the part of the database a hostile operator can write: records,
// tiles and published checkpoints. Its methods are the ledgerlog storage
// interfaces.
type db struct {
	mu    sync.Mutex
	recs  []domain.AuditRecord
	tiles *ledger.MemoryTiles
	cps   [][]byte
	// failPublish makes Publish fail, as a crash after the tiles would.
	failPublish bool
}

func newDB() *db { return &db{tiles: &ledger.MemoryTiles{}} }

func (d *db) Size(context.Context) (uint64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return uint64(len(d.recs)), nil
}

func (d *db) Records(_ context.Context, from, to uint64) ([]domain.AuditRecord, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	to = min(to, uint64(len(d.recs)))
	if from >= to {
		return nil, nil
	}
	return slices.Clone(d.recs[from:to]), nil
}

func (d *db) Latest(context.Context) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.cps) == 0 {
		return nil, nil
	}
	return d.cps[len(d.cps)-1], nil
}

func (d *db) Publish(_ context.Context, c ledger.Checkpoint, note []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.failPublish {
		return errors.New("the database went away")
	}
	if n := len(d.cps); n > 0 && bytes.HasPrefix(note, []byte(c.Text())) && bytes.HasPrefix(d.cps[n-1], []byte(c.Text())) {
		d.cps[n-1] = note
		return nil
	}
	d.cps = append(d.cps, note)
	return nil
}

// add appends n records.
func (d *db) add(n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for range n {
		i := int64(len(d.recs))
		d.recs = append(d.recs, domain.AuditRecord{Index: i, ID: uuid.New(), At: time.Unix(1767225600+i, 0).UTC(),
			ActorRole: "buyer", Action: "order.placed", SubjectType: "order", SubjectID: fmt.Sprint(i), Payload: []byte(fmt.Sprintf(`{"quantity":%d}`, i%50+1))})
	}
}

// rebuild replaces the tree with one recomputed from the records, as an
// operator who changed records and wants the tree to match would.
func (d *db) rebuild(t *testing.T) {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.tiles = &ledger.MemoryTiles{}
	hashes := make([]ledger.Hash, len(d.recs))
	for i := range d.recs {
		hashes[i], _ = ledger.LeafHash(&d.recs[i])
	}
	if err := ledger.AppendLeaves(context.Background(), d.tiles, 0, hashes); err != nil {
		t.Fatal(err)
	}
}

// tileStore lets the test swap the db's tiles under a running log.
type tileStore struct{ d *db }

func (s tileStore) ReadTiles(ctx context.Context, ids []ledger.TileID) ([][]ledger.Hash, error) {
	s.d.mu.Lock()
	t := s.d.tiles
	s.d.mu.Unlock()
	return t.ReadTiles(ctx, ids)
}

func (s tileStore) WriteTiles(ctx context.Context, ts []ledger.Tile) error {
	s.d.mu.Lock()
	t := s.d.tiles
	s.d.mu.Unlock()
	return t.WriteTiles(ctx, ts)
}

type key struct {
	skey, vkey string
	signer     *ledgerlog.KeySigner
}

func newKey(t testing.TB) key {
	t.Helper()
	skey, vkey, err := ledger.GenerateKey(origin)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ledgerlog.NewKeySigner(skey, vkey)
	if err != nil {
		t.Fatal(err)
	}
	return key{skey, vkey, s}
}

// logBuf collects a log's output, for tests that want it said loudly.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }
func (l *logBuf) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

type rig struct {
	db      *db
	key     key
	state   ledgerlog.State
	metrics *ledgerlog.Metrics
	logs    *logBuf
	log     *ledgerlog.Log
}

func newRig(t *testing.T, d *db, k key, state ledgerlog.State, ws []ledgerlog.Witness, quorum int) *rig {
	t.Helper()
	r := &rig{db: d, key: k, state: state, metrics: ledgerlog.NewMetrics(), logs: &logBuf{}}
	var err error
	r.log, err = ledgerlog.New(ledgerlog.Config{Tiles: tileStore{d}, Entries: d, Checkpoints: d, Signer: k.signer, State: state,
		Witnesses: ws, Quorum: quorum, WitnessTimeout: 2 * time.Second, Metrics: r.metrics, Log: slog.New(slog.NewTextHandler(io.MultiWriter(r.logs), nil))})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) checkpoint(t *testing.T) *ledger.Checkpoint {
	t.Helper()
	c, err := r.log.Checkpoint(context.Background())
	if err != nil {
		t.Fatalf("checkpoint: %v\n%s", err, r.logs)
	}
	return c
}

// refused asserts that the next checkpoint is refused, loudly, without a
// signature reaching the state or the database.
func (r *rig) refused(t *testing.T) *ledgerlog.RefusedError {
	t.Helper()
	before, _ := r.state.Load(context.Background())
	published := len(r.db.cps)
	refusals := metricValue(r.metrics.Refused)
	_, err := r.log.Checkpoint(context.Background())
	var re *ledgerlog.RefusedError
	if !errors.As(err, &re) {
		t.Fatalf("checkpoint: %v, want a refusal", err)
	}
	after, _ := r.state.Load(context.Background())
	if !bytes.Equal(before, after) || len(r.db.cps) != published {
		t.Fatal("a refused tree was signed")
	}
	if metricValue(r.metrics.Refused) != refusals+1 || !strings.Contains(r.logs.String(), "REFUSING TO SIGN") {
		t.Fatalf("the refusal was not counted and logged:\n%s", r.logs)
	}
	return re
}

func TestCheckpointSignsPublishesAndRemembers(t *testing.T) {
	d := newDB()
	r := newRig(t, d, newKey(t), &ledgerlog.MemoryState{}, nil, 0)
	if c := r.checkpoint(t); c == nil || c.Size != 0 {
		t.Fatalf("the empty log's checkpoint: %+v", c)
	}
	d.add(300)
	c := r.checkpoint(t)
	if c == nil || c.Size != 300 {
		t.Fatalf("checkpoint %+v", c)
	}
	if again := r.checkpoint(t); again != nil {
		t.Fatalf("nothing new, but signed %+v", again)
	}
	st, _ := r.state.Load(context.Background())
	v, _ := ledger.ParseVerifierKey(r.key.vkey)
	if got, err := ledger.OpenCheckpoint(st, v); err != nil || got != *c {
		t.Fatalf("state holds %+v (%v), want %+v", got, err, *c)
	}
	if len(d.cps) != 2 || !bytes.Equal(d.cps[1], st) {
		t.Fatalf("published %d checkpoints", len(d.cps))
	}
	if metricValue(r.metrics.Signed) != 2 || metricValue(r.metrics.Size) != 300 {
		t.Fatal("metrics")
	}
}

// TestCheckpointRefusesRebuiltTree is issue 16's attack: an operator with
// write access to the database but not the key changes a record, deletes
// the checkpoints that cover it and rebuilds the tree. The signer, which
// remembers its last checkpoint outside the database, refuses to sign the
// forged tree, now and after the log grows.
func TestCheckpointRefusesRebuiltTree(t *testing.T) {
	d := newDB()
	d.add(283)
	r := newRig(t, d, newKey(t), ledgerlog.FileState(filepath.Join(t.TempDir(), "ledger.key.checkpoint")), nil, 0)
	r.checkpoint(t)
	d.add(10)
	r.checkpoint(t)

	d.recs[5].Payload = []byte(`{"quantity":1000}`)
	d.cps = nil
	d.rebuild(t)
	re := r.refused(t)
	if re.Last.Size != 293 || re.Next.Size != 293 {
		t.Fatalf("refusal %+v", re)
	}
	d.add(5)
	r.refused(t)
	// A restarted server (a new Log, the same state file) refuses too.
	r2 := newRig(t, d, r.key, r.state, nil, 0)
	r2.refused(t)
}

// TestCheckpointRefusesLostEntries: the database restored from an older
// backup, or its tail deleted with its checkpoints, then growing again.
func TestCheckpointRefusesLostEntries(t *testing.T) {
	d := newDB()
	d.add(100)
	r := newRig(t, d, newKey(t), &ledgerlog.MemoryState{}, nil, 0)
	r.checkpoint(t)
	backup := &db{recs: slices.Clone(d.recs), tiles: &ledger.MemoryTiles{}, cps: slices.Clone(d.cps)}
	backup.rebuild(t)
	d.add(50)
	r.checkpoint(t)

	// Restore the backup: 100 entries, the checkpoint of 100.
	d.recs, d.cps = backup.recs, backup.cps
	d.rebuild(t)
	r.refused(t)
	d.add(60) // other entries where the lost ones were
	r.refused(t)
	if !strings.Contains(r.logs.String(), "the signer signed a checkpoint the database does not hold") {
		t.Fatalf("no warning about the database being behind:\n%s", r.logs)
	}
	// Entries deleted below the published checkpoint.
	d2 := newDB()
	d2.add(20)
	r2 := newRig(t, d2, newKey(t), &ledgerlog.MemoryState{}, nil, 0)
	r2.checkpoint(t)
	d2.recs = d2.recs[:10]
	r2.refused(t)
}

// TestCheckpointFirstStart: without a state file the signer adopts the
// database's latest checkpoint if, and only if, it verifies with the key.
func TestCheckpointFirstStart(t *testing.T) {
	d := newDB()
	d.add(50)
	k := newKey(t)
	first := newRig(t, d, k, &ledgerlog.MemoryState{}, nil, 0)
	first.checkpoint(t)

	t.Run("AdoptsAVerifiedCheckpoint", func(t *testing.T) {
		r := newRig(t, d, k, ledgerlog.FileState(filepath.Join(t.TempDir(), "state")), nil, 0)
		if c := r.checkpoint(t); c != nil {
			t.Fatalf("signed %+v with nothing new", c)
		}
		if !strings.Contains(r.logs.String(), "adopting the database's latest checkpoint") {
			t.Fatalf("adoption not said:\n%s", r.logs)
		}
		if st, _ := r.state.Load(context.Background()); !bytes.Equal(st, d.cps[len(d.cps)-1]) {
			t.Fatal("the adopted checkpoint was not remembered")
		}
		// From now on a rewritten history is refused.
		saved := slices.Clone(d.recs)
		d.recs[3].Action = "order.cancelled"
		d.cps = d.cps[:0]
		d.rebuild(t)
		r.refused(t)
		d.recs = saved
		d.rebuild(t)
		d.cps = append(d.cps, first.mustState(t))
	})
	t.Run("RefusesAForgedCheckpoint", func(t *testing.T) {
		forger := newKey(t)
		forged, err := forger.signer.Sign(context.Background(), ledger.Checkpoint{Origin: origin, Size: 50, Root: ledger.EmptyRoot()})
		if err != nil {
			t.Fatal(err)
		}
		d2 := &db{recs: d.recs, tiles: d.tiles, cps: [][]byte{forged}}
		r := newRig(t, d2, k, ledgerlog.FileState(filepath.Join(t.TempDir(), "state")), nil, 0)
		if _, err := r.log.Checkpoint(context.Background()); err == nil || !strings.Contains(err.Error(), "does not verify") {
			t.Fatalf("checkpoint over a forged one: %v", err)
		}
		if st, _ := r.state.Load(context.Background()); st != nil {
			t.Fatal("a forged checkpoint was adopted")
		}
	})
}

func (r *rig) mustState(t *testing.T) []byte {
	t.Helper()
	b, err := r.state.Load(context.Background())
	if err != nil || b == nil {
		t.Fatalf("state: %v", err)
	}
	return b
}

// TestCheckpointRecoversFromAnInterruption: tiles written but the
// checkpoint not published (a crash), or tiles deleted while the records
// are intact: the next checkpoint is signed as if nothing happened.
func TestCheckpointRecoversFromAnInterruption(t *testing.T) {
	d := newDB()
	d.add(700)
	r := newRig(t, d, newKey(t), &ledgerlog.MemoryState{}, nil, 0)
	r.checkpoint(t)
	d.add(300)
	d.failPublish = true
	if _, err := r.log.Checkpoint(context.Background()); err == nil {
		t.Fatal("published into a failing database")
	}
	d.failPublish = false
	d.add(10)
	if c := r.checkpoint(t); c == nil || c.Size != 1010 {
		t.Fatalf("after the interruption: %+v", c)
	}
	d.tiles = &ledger.MemoryTiles{} // tiles lost, records intact
	d.add(1)
	if c := r.checkpoint(t); c == nil || c.Size != 1011 {
		t.Fatalf("after the tiles were lost: %+v", c)
	}
	if !strings.Contains(r.logs.String(), "rebuilding it from the records") {
		t.Fatalf("the rebuild was not said:\n%s", r.logs)
	}
}

// TestCheckpointTwoReplicas: replicas with their own state take turns at
// signing (as leadership moves); each checks the other's checkpoints.
func TestCheckpointTwoReplicas(t *testing.T) {
	d := newDB()
	k := newKey(t)
	a := newRig(t, d, k, &ledgerlog.MemoryState{}, nil, 0)
	b := newRig(t, d, k, &ledgerlog.MemoryState{}, nil, 0)
	for i := range 6 {
		d.add(40)
		[]*rig{a, b}[i%2].checkpoint(t)
	}
	if c := a.checkpoint(t); c != nil {
		t.Fatalf("signed again: %+v", c)
	}
	if !bytes.Equal(a.mustState(t), b.mustState(t)) {
		t.Fatal("the idle replica did not take the other's newer checkpoint as its last")
	}
}

// TestCheckpointRejectsASignerThatSignsSomethingElse: a remote signer (KMS)
// that returns another checkpoint is caught before anything is published.
func TestCheckpointRejectsASignerThatSignsSomethingElse(t *testing.T) {
	d := newDB()
	d.add(3)
	k := newKey(t)
	bad := badSigner{k.signer}
	l, err := ledgerlog.New(ledgerlog.Config{Tiles: tileStore{d}, Entries: d, Checkpoints: d, Signer: bad})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Checkpoint(context.Background()); err == nil || len(d.cps) != 0 {
		t.Fatalf("a wrong signature was published: %v", err)
	}
}

type badSigner struct{ *ledgerlog.KeySigner }

func (b badSigner) Sign(ctx context.Context, c ledger.Checkpoint) ([]byte, error) {
	c.Size++
	return b.KeySigner.Sign(ctx, c)
}

// witnessOf runs a witness of the log in process, with its state in dir.
func witnessOf(t *testing.T, name, vkey, dir string) *witness.Witness {
	t.Helper()
	return witnessFor(t, name, vkey, dir)
}

type noteVerifier = note.Verifier

// flaky is a witness that can be switched off.
type flaky struct {
	*witness.Witness
	down bool
}

func (f *flaky) AddCheckpoint(ctx context.Context, old uint64, proof []ledger.Hash, signed []byte) ([]byte, error) {
	if f.down {
		return nil, errors.New("connection refused")
	}
	return f.Witness.AddCheckpoint(ctx, old, proof, signed)
}

func cosignatures(t *testing.T, k key, signed []byte, ws ...ledgerlog.Witness) int {
	t.Helper()
	v, _ := ledger.ParseVerifierKey(k.vkey)
	var vs []note.Verifier
	for _, w := range ws {
		vs = append(vs, w.Verifier())
	}
	_, cosigs, err := ledger.Cosignatures(signed, v, vs)
	if err != nil {
		t.Fatal(err)
	}
	return len(cosigs)
}

// TestCheckpointCosigned: every checkpoint is cosigned by the witnesses;
// one that was down cosigns the idle log's checkpoint once it is back; a
// restarted log finds the witnesses' sizes through 409.
func TestCheckpointCosigned(t *testing.T) {
	d := newDB()
	k := newKey(t)
	dir := t.TempDir()
	w1 := &flaky{Witness: witnessOf(t, "w1.test", k.vkey, dir)}
	w2 := &flaky{Witness: witnessOf(t, "w2.test", k.vkey, dir)}
	ws := []ledgerlog.Witness{w1, w2}
	r := newRig(t, d, k, &ledgerlog.MemoryState{}, ws, 2)
	d.add(100)
	r.checkpoint(t)
	if n := cosignatures(t, k, d.cps[len(d.cps)-1], ws...); n != 2 {
		t.Fatalf("%d cosignatures", n)
	}
	w2.down = true
	d.add(100)
	r.checkpoint(t)
	if n := cosignatures(t, k, d.cps[len(d.cps)-1], ws...); n != 1 || metricValue(r.metrics.Unwitnessed) != 1 {
		t.Fatalf("with a witness down: %d cosignatures", n)
	}
	if !strings.Contains(r.logs.String(), "lacks the cosignatures the policy requires") {
		t.Fatalf("the missing quorum was not said:\n%s", r.logs)
	}
	w2.down = false
	if c := r.checkpoint(t); c != nil {
		t.Fatal("signed with nothing new")
	}
	if n := cosignatures(t, k, d.cps[len(d.cps)-1], ws...); n != 2 {
		t.Fatalf("after the witness came back: %d cosignatures", n)
	}
	// A restarted log knows no witness sizes: it learns them from 409s.
	r2 := newRig(t, d, k, r.state, ws, 2)
	d.add(7)
	r2.checkpoint(t)
	if n := cosignatures(t, k, d.cps[len(d.cps)-1], ws...); n != 2 {
		t.Fatalf("after a restart: %d cosignatures", n)
	}
	if c, _, _ := w1.Latest(); c.Size != 207 {
		t.Fatalf("the witness has %d", c.Size)
	}
}

// TestWitnessRefusesAForkSignedWithTheKey: an insider with the key but not
// the signer's state (a second signer over a rewritten database) signs a
// forged history; the witnesses refuse it and keep both notes as evidence.
func TestWitnessRefusesAForkSignedWithTheKey(t *testing.T) {
	d := newDB()
	k := newKey(t)
	dir := t.TempDir()
	w := witnessOf(t, "w.test", k.vkey, dir)
	honest := newRig(t, d, k, &ledgerlog.MemoryState{}, []ledgerlog.Witness{w}, 1)
	d.add(100)
	honest.checkpoint(t)
	cosigned, _, _ := w.Latest()

	forged := newDB()
	forged.recs = slices.Clone(d.recs)
	forged.recs[42].Payload = []byte(`{"quantity":9999}`)
	forged.add(10)
	insider := newRig(t, forged, k, &ledgerlog.MemoryState{}, []ledgerlog.Witness{w}, 1)
	insider.checkpoint(t) // the key signs: nothing in this process remembers
	if n := cosignatures(t, k, forged.cps[0], w); n != 0 {
		t.Fatal("the witness cosigned a forged history")
	}
	if c, _, _ := w.Latest(); c != cosigned {
		t.Fatalf("the witness moved to %+v", c)
	}
	ev, err := filepath.Glob(filepath.Join(dir, "w.test.state.evidence", "*"))
	if err != nil || len(ev) != 1 {
		t.Fatalf("evidence files %v %v", ev, err)
	}
}

// metricValue reads a counter or gauge.
func metricValue(c prometheus.Collector) float64 {
	ch := make(chan prometheus.Metric, 1)
	c.Collect(ch)
	var m dto.Metric
	if err := (<-ch).Write(&m); err != nil {
		panic(err)
	}
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.Gauge.GetValue()
}

// TestCheckpointIdleNoticesARewrittenTree: with nothing new to sign, a
// stored tree that is not the published one is refused at once.
func TestCheckpointIdleNoticesARewrittenTree(t *testing.T) {
	d := newDB()
	d.add(40)
	r := newRig(t, d, newKey(t), &ledgerlog.MemoryState{}, nil, 0)
	r.checkpoint(t)
	d.recs[1].SubjectID = "forged"
	d.rebuild(t)
	r.refused(t)
}

// TestCheckpointKeepsSignedTiles: a record changed behind the log's back,
// its tile left alone: the log signs on over the tree it wrote (the record
// no longer matches its leaf, which verify reports), and never writes the
// changed record's hash into a signed tile.
func TestCheckpointKeepsSignedTiles(t *testing.T) {
	d := newDB()
	d.add(40)
	r := newRig(t, d, newKey(t), &ledgerlog.MemoryState{}, nil, 0)
	r.checkpoint(t)
	before, _ := d.tiles.ReadTiles(context.Background(), []ledger.TileID{{}})
	leaf7 := before[0][7]
	d.recs[7].Payload = []byte(`{"quantity":0}`)
	d.cps = nil // and the checkpoints deleted
	d.add(3)
	if c := r.checkpoint(t); c == nil || c.Size != 43 {
		t.Fatalf("checkpoint %+v", c)
	}
	after, _ := d.tiles.ReadTiles(context.Background(), []ledger.TileID{{}})
	if after[0][7] != leaf7 {
		t.Fatal("a signed leaf was rewritten from a changed record")
	}
}
