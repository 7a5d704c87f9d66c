package server_test

import (
	"bytes"
	"compress/gzip"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/ledger"
	"github.com/chipgate/chipgate/internal/ledgerlog"
	"github.com/chipgate/chipgate/internal/service"
	"github.com/chipgate/chipgate/internal/store/storetest"
	"github.com/chipgate/chipgate/internal/witness"
)

// withWitness replaces the env's signer with one over the same key that has
// the checkpoints cosigned by a witness served over HTTP, as another party
// would run it. It returns the witness's verifier key.
func (e *env) withWitness(t *testing.T) (string, *witness.Witness) {
	t.Helper()
	skey, vkey, err := ledger.GenerateWitnessKey("witness.cn-mofcom.test/chipgate")
	if err != nil {
		t.Fatal(err)
	}
	cosigner, err := ledger.ParseCosigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	logKey, err := ledger.ParseVerifierKey(e.vkey)
	if err != nil {
		t.Fatal(err)
	}
	w, err := witness.New(witness.Config{Cosigner: cosigner, LogKey: logKey, StateFile: filepath.Join(t.TempDir(), "witness.state")})
	if err != nil {
		t.Fatal(err)
	}
	ws := httptest.NewServer(w)
	t.Cleanup(ws.Close)
	client, err := witness.NewClient(ws.URL, vkey, ws.Client())
	if err != nil {
		t.Fatal(err)
	}
	k, err := ledgerlog.NewKeySigner(e.skey, e.vkey)
	if err != nil {
		t.Fatal(err)
	}
	if e.kit.Signer, err = service.NewLedgerSignerWith(k, service.LedgerOptions{Witnesses: []ledgerlog.Witness{client}, Quorum: 1}); err != nil {
		t.Fatal(err)
	}
	return vkey, w
}

// TestTilesInteroperability mirrors the log through its tile API with
// nothing but golang.org/x/mod/sumdb (tlog, note) and the standard library,
// as any party's own tool would: it verifies the checkpoint's signature and
// the witness's cosignature, every tile against the signed root, every
// entry of every bundle against its leaf, an inclusion proof of a record
// and a consistency proof between two checkpoints.
func TestTilesInteroperability(t *testing.T) {
	e := newEnv(t, storetest.Backends()[0])
	wkey, _ := e.withWitness(t)
	e.fixtures()
	for i := range 200 { // past the first full tile
		e.must("us-commerce", "POST", "/api/v1/tokens", map[string]any{"label": fmt.Sprint("tiles ", i)}, 201)
	}
	e.sign()
	exportAuthority := e.creds["us-commerce"].Token

	m := newMirror(t, e.url, exportAuthority, e.vkey, wkey)
	size, root := m.checkpoint(t)
	if size < 300 {
		t.Fatalf("a log of %d entries: too small to span two tiles", size)
	}
	thr := tlog.TileHashReader(tlog.Tree{N: size, Hash: root}, m)
	if h, err := tlog.TreeHash(size, thr); err != nil || h != root {
		t.Fatalf("tree hash from the tiles: %v, %v; want %v", h, err, root)
	}

	// Every entry of every bundle hashes to its leaf in the verified tiles.
	var entries [][]byte
	for k := int64(0); k*256 < size; k++ {
		w := int(min(256, size-k*256))
		b := m.get(t, tlog.Tile{H: 8, L: -1, N: k, W: w}, exportAuthority, 200)
		for len(b) > 0 {
			n := int(binary.BigEndian.Uint16(b))
			entries = append(entries, b[2:2+n])
			b = b[2+n:]
		}
	}
	if int64(len(entries)) != size {
		t.Fatalf("%d entries in the bundles, want %d", len(entries), size)
	}
	indexes := make([]int64, size)
	for i := range indexes {
		indexes[i] = tlog.StoredHashIndex(0, int64(i))
	}
	leaves, err := thr.ReadHashes(indexes)
	if err != nil {
		t.Fatal(err)
	}
	for i, data := range entries {
		if tlog.RecordHash(data) != leaves[i] {
			t.Fatalf("entry %d does not hash to its leaf", i)
		}
	}

	// An inclusion proof of one record, whose content is the API's.
	const index = 123
	var rec domain.AuditRecord
	_, raw, _ := e.do("us-commerce", "GET", fmt.Sprintf("/api/v1/ledger/entries/%d", index), nil)
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	data := entries[index]
	if !bytes.HasPrefix(data, []byte("chipgate/audit-record/v1\n")) || !bytes.Contains(data, []byte(rec.Action)) || !bytes.Contains(data, rec.Payload) {
		t.Fatalf("entry %d's leaf data does not hold its record (%s)", index, rec.Action)
	}
	p, err := tlog.ProveRecord(size, index, thr)
	if err != nil {
		t.Fatal(err)
	}
	if err := tlog.CheckRecord(p, size, root, index, tlog.RecordHash(data)); err != nil {
		t.Fatalf("inclusion of entry %d: %v", index, err)
	}
	changed := bytes.Replace(data, rec.Payload, append(bytes.Clone(rec.Payload[:len(rec.Payload)-1]), ' '), 1)
	if tlog.CheckRecord(p, size, root, index, tlog.RecordHash(changed)) == nil {
		t.Fatal("a changed record verified")
	}

	// The log grows; the new checkpoint extends the old one.
	e.must("bytedance", "POST", "/api/v1/orders", map[string]any{"product": "h200", "quantity": 1, "requested_period": "2026-03-02", "end_use": "commercial_ai"}, 201)
	e.sign()
	size2, root2 := m.checkpoint(t)
	thr2 := tlog.TileHashReader(tlog.Tree{N: size2, Hash: root2}, m)
	tp, err := tlog.ProveTree(size2, size, thr2)
	if err != nil {
		t.Fatal(err)
	}
	if err := tlog.CheckTree(tp, size2, root2, size, root); err != nil {
		t.Fatalf("consistency %d → %d: %v", size, size2, err)
	}

	// Who reads what: tiles need no token, bundles the export authority's.
	m.get(t, tlog.Tile{H: 8, L: 0, N: 0, W: 256}, "", 200)
	m.get(t, tlog.Tile{H: 8, L: -1, N: 0, W: 256}, "", 401)
	m.get(t, tlog.Tile{H: 8, L: -1, N: 0, W: 256}, e.creds["auditor"].Token, 403)
	m.get(t, tlog.Tile{H: 8, L: -1, N: 0, W: 256}, e.creds["bytedance"].Token, 403)
}

// mirror is a tile client written against x/mod/sumdb/tlog alone: it
// implements tlog.TileReader over HTTP and keeps what it verified.
type mirror struct {
	url, token string
	verifiers  note.Verifiers
	names      []string
	saved      map[string][]byte
}

func newMirror(t *testing.T, url, token, logKey, witnessKey string) *mirror {
	t.Helper()
	lv, err := note.NewVerifier(logKey)
	if err != nil {
		t.Fatal(err)
	}
	wv := parseCosignatureKey(t, witnessKey)
	return &mirror{url: url, token: token, verifiers: note.VerifierList(lv, wv), names: []string{lv.Name(), wv.Name()}, saved: map[string][]byte{}}
}

// checkpoint fetches /checkpoint and checks the log's signature and the
// witness's cosignature on it.
func (m *mirror) checkpoint(t *testing.T) (int64, tlog.Hash) {
	t.Helper()
	resp, err := http.Get(m.url + "/checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Fatalf("checkpoint: %d %s", resp.StatusCode, body)
	}
	n, err := note.Open(body, m.verifiers)
	if err != nil {
		t.Fatalf("checkpoint:\n%s\n%v", body, err)
	}
	signedBy := map[string]bool{}
	for _, s := range n.Sigs {
		signedBy[s.Name] = true
	}
	for _, name := range m.names {
		if !signedBy[name] {
			t.Fatalf("the checkpoint is not signed by %s:\n%s", name, body)
		}
	}
	lines := strings.Split(n.Text, "\n")
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || lines[0] != m.names[0] {
		t.Fatalf("checkpoint text %q", n.Text)
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		t.Fatal(err)
	}
	return size, root
}

// path is the tlog-tiles path of a tile: the checksum database's without
// the height, "entries" for "data".
func path(tile tlog.Tile) string {
	p := strings.Replace(tile.Path(), "tile/8/", "tile/", 1)
	return strings.Replace(p, "tile/data/", "tile/entries/", 1)
}

func (m *mirror) get(t *testing.T, tile tlog.Tile, token string, want int) []byte {
	t.Helper()
	b, status, err := m.fetch(tile, token)
	if err != nil || status != want {
		t.Fatalf("%s: %d %v, want %d", path(tile), status, err, want)
	}
	return b
}

func (m *mirror) fetch(tile tlog.Tile, token string) ([]byte, int, error) {
	req, _ := http.NewRequest("GET", m.url+"/"+path(tile), nil)
	req.Header.Set("Accept-Encoding", "gzip")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	var r io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		if r, err = gzip.NewReader(resp.Body); err != nil {
			return nil, 0, err
		}
	}
	b, err := io.ReadAll(r)
	return b, resp.StatusCode, err
}

// Height implements tlog.TileReader.
func (m *mirror) Height() int { return 8 }

// ReadTiles implements tlog.TileReader over HTTP, without a token.
func (m *mirror) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, tile := range tiles {
		if b, ok := m.saved[tile.Path()]; ok {
			out[i] = b
			continue
		}
		b, status, err := m.fetch(tile, "")
		if err != nil {
			return nil, err
		}
		if status != 200 {
			return nil, fmt.Errorf("%s: status %d", path(tile), status)
		}
		out[i] = b
	}
	return out, nil
}

// SaveTiles implements tlog.TileReader: tiles that verified are mirrored.
func (m *mirror) SaveTiles(tiles []tlog.Tile, data [][]byte) {
	for i, tile := range tiles {
		m.saved[tile.Path()] = data[i]
	}
}

// cosignatureV1 verifies C2SP cosignature/v1 signatures, written here from
// the specification with crypto/ed25519 (x/mod's note knows only its own
// Ed25519 type), so that the test does not check the server's code with
// itself.
type cosignatureV1 struct {
	name string
	hash uint32
	pub  ed25519.PublicKey
}

func parseCosignatureKey(t *testing.T, vkey string) *cosignatureV1 {
	t.Helper()
	f := strings.SplitN(vkey, "+", 3)
	key, err := base64.StdEncoding.DecodeString(f[2])
	if len(f) != 3 || err != nil || len(key) != 33 || key[0] != 0x04 {
		t.Fatalf("witness key %q", vkey)
	}
	h := sha256.Sum256(append([]byte(f[0]+"\n"), key...))
	v := &cosignatureV1{name: f[0], hash: binary.BigEndian.Uint32(h[:4]), pub: key[1:]}
	if fmt.Sprintf("%08x", v.hash) != f[1] {
		t.Fatalf("witness key %q: key ID", vkey)
	}
	return v
}

func (v *cosignatureV1) Name() string    { return v.name }
func (v *cosignatureV1) KeyHash() uint32 { return v.hash }
func (v *cosignatureV1) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	signed := fmt.Sprintf("cosignature/v1\ntime %d\n%s", binary.BigEndian.Uint64(sig), msg)
	return ed25519.Verify(v.pub, []byte(signed), sig[8:])
}

// TestTileRoutes: what the tile routes refuse, and their headers.
func TestTileRoutes(t *testing.T) {
	e := newEnv(t, storetest.Backends()[0])
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/tile/0/000.p/1", 200},
		{"/tile/0/000.p/256", 404}, // malformed
		{"/tile/0/0", 404},         // malformed
		{"/tile/9/000", 404},       // no such level
		{"/tile/0/x001/000", 404},  // beyond the published tree
		{"/tile/entries/x999/999", 404},
	} {
		if status, body, _ := e.do("us-commerce", "GET", tc.path, nil); status != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.path, status, body, tc.status)
		}
	}
	// A tile is served only once a checkpoint covers it.
	var size uint64
	_, raw, _ := e.do("", "GET", "/checkpoint", nil)
	_, err := fmt.Sscanf(strings.SplitN(string(raw), "\n", 3)[1], "%d", &size)
	if err != nil {
		t.Fatal(err)
	}
	next := ledger.TileRef{Level: 0, Index: size / 256, Width: int(size%256) + 1}
	if next.Width > 255 {
		t.Skip("the log ends on a tile boundary")
	}
	e.must("bytedance", "POST", "/api/v1/orders", map[string]any{"product": "h200", "quantity": 1, "requested_period": "2026-03-02", "end_use": "commercial_ai"}, 201)
	if status, _, _ := e.do("", "GET", "/"+next.Path(), nil); status != 404 {
		t.Fatalf("a tile past the checkpoint: %d", status)
	}
	e.sign()
	status, body, hdr := e.do("", "GET", "/"+next.Path(), nil)
	if status != 200 || len(body) != next.Width*32 || hdr.Get("Content-Type") != "application/octet-stream" || !strings.Contains(hdr.Get("Cache-Control"), "immutable") {
		t.Fatalf("%s: %d, %d bytes, %v", next.Path(), status, len(body), hdr)
	}
}
