// Package witness is a C2SP tlog-witness (https://c2sp.org/tlog-witness)
// for chipgate's ledger, and the client a log uses to reach one.
//
// A witness runs as its own process for a party other than the log's
// operator: the import authority, an auditor. It keeps its own copy of the
// latest checkpoint it cosigned, in a file no one else writes; for every new
// checkpoint the log submits with a consistency proof it checks the log's
// signature and the proof, and only then cosigns (cosignature/v1) and
// remembers the new checkpoint. A log that shows two histories cannot get
// both cosigned: the witness refuses the second and keeps both signed notes
// as evidence. Clients that require a quorum of cosignatures (ledger audit)
// are thereby protected from a log, or an insider at it, who rewrites the
// past.
//
// The protocol is one call, POST <prefix>/add-checkpoint (protocol.go); a
// Witness serves it over HTTP and also answers in process (AddCheckpoint),
// and Client is the log's side of it.
package witness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/chipgate/chipgate/internal/ledger"
)

// Config configures a Witness.
type Config struct {
	// Cosigner is the witness's own key.
	Cosigner *ledger.Cosigner
	// LogKey is the verifier key of the one log this witness follows; its
	// name is the log's origin.
	LogKey note.Verifier
	// StateFile keeps the latest checkpoint the witness cosigned (the
	// log's note with the witness's cosignature), rewritten atomically
	// before each answer. Evidence of a split view goes to files in
	// StateFile + ".evidence/".
	StateFile string
	// Now is the clock of the cosignatures' timestamps (time.Now if nil).
	Now func() time.Time
	Log *slog.Logger
}

// Witness cosigns the checkpoints of one log that are consistent with the
// latest it cosigned. It is safe for concurrent use: checking a request
// against the latest checkpoint and persisting the new one happen under
// one lock, so no interleaving can roll the witness back.
type Witness struct {
	cfg Config

	mu     sync.Mutex
	latest *ledger.Checkpoint // nil before the first cosignature
	note   []byte             // the latest cosigned note
}

// New starts a witness from its state file, which must be absent (a new
// witness) or hold a checkpoint of the log that verifies with LogKey.
func New(cfg Config) (*Witness, error) {
	if cfg.Cosigner == nil || cfg.LogKey == nil || cfg.StateFile == "" {
		return nil, errors.New("witness: a key, the log's key and a state file are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	w := &Witness{cfg: cfg}
	b, err := ledger.ReadNoteFile(cfg.StateFile)
	if err != nil {
		return nil, fmt.Errorf("witness: state: %w", err)
	}
	if b != nil {
		c, err := ledger.OpenCheckpoint(b, cfg.LogKey)
		if err != nil {
			return nil, fmt.Errorf("witness: state %s: %w", cfg.StateFile, err)
		}
		w.latest, w.note = &c, b
	}
	return w, nil
}

// Latest returns the latest checkpoint the witness cosigned and its note,
// or false before the first.
func (w *Witness) Latest() (ledger.Checkpoint, []byte, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.latest == nil {
		return ledger.Checkpoint{}, nil, false
	}
	return *w.latest, w.note, true
}

// VerifierKey is the witness's cosignature verifier key, which logs and
// auditors configure.
func (w *Witness) VerifierKey() string { return w.cfg.Cosigner.VerifierKey() }

// Verifier checks the witness's cosignatures.
func (w *Witness) Verifier() note.Verifier { return w.cfg.Cosigner.Verifier() }

// AddCheckpoint is the add-checkpoint call in process: it checks signed (a
// checkpoint note of the log) against the latest checkpoint the witness
// cosigned, given the consistency proof from oldSize, and returns the
// witness's cosignature line. Errors: *ConflictError when oldSize is not the
// witness's latest size; *Error with the status tlog-witness prescribes
// otherwise, with Evidence when the log signed two histories.
func (w *Witness) AddCheckpoint(_ context.Context, oldSize uint64, proof []ledger.Hash, signed []byte) ([]byte, error) {
	origin, _, _ := bytes.Cut(signed, []byte("\n"))
	if string(origin) != w.cfg.LogKey.Name() {
		return nil, &Error{Status: http.StatusNotFound, Msg: fmt.Sprintf("unknown log %q", origin)}
	}
	c, err := ledger.OpenCheckpoint(signed, w.cfg.LogKey)
	var une *note.UnverifiedNoteError
	var ise *note.InvalidSignatureError
	switch {
	case errors.As(err, &une) || errors.As(err, &ise):
		return nil, &Error{Status: http.StatusForbidden, Msg: "the checkpoint carries no valid signature of the log: " + err.Error()}
	case err != nil:
		return nil, &Error{Status: http.StatusBadRequest, Msg: err.Error()}
	}
	// The note's text, as note.Open split it (OpenCheckpoint succeeded).
	text := signed[:bytes.LastIndex(signed, []byte("\n\n— "))+1]
	if oldSize > c.Size {
		return nil, &Error{Status: http.StatusBadRequest, Msg: fmt.Sprintf("old size %d is larger than the checkpoint's %d", oldSize, c.Size)}
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	var have uint64
	if w.latest != nil {
		have = w.latest.Size
	}
	if oldSize != have {
		return nil, &ConflictError{Size: have}
	}
	switch {
	case oldSize == 0 && len(proof) > 0:
		return nil, &Error{Status: http.StatusBadRequest, Msg: "the proof from size 0 must be empty"}
	case w.latest != nil && c.Size == w.latest.Size && c.Root != w.latest.Root:
		return nil, w.splitView(c, signed, proof, http.StatusConflict,
			fmt.Sprintf("two checkpoints of size %d have roots %s (cosigned before) and %s", c.Size, w.latest.Root, c.Root))
	case w.latest != nil && w.latest.Size > 0:
		if err := ledger.CheckConsistency(*w.latest, c, proof); err != nil {
			return nil, w.splitView(c, signed, proof, http.StatusUnprocessableEntity,
				fmt.Sprintf("the consistency proof from size %d to %d does not verify (%v): either the log sent a wrong proof or it signed two histories", w.latest.Size, c.Size, err))
		}
	}
	line, err := w.cfg.Cosigner.Cosign(text, w.cfg.Now())
	if err != nil {
		return nil, err
	}
	cosigned, err := ledger.AddSignatureLines(signed, line)
	if err != nil {
		return nil, err
	}
	// Persist before answering: a cosignature the witness could forget
	// would let a log roll it back after a crash.
	if err := ledger.WriteNoteFile(w.cfg.StateFile, cosigned); err != nil {
		return nil, fmt.Errorf("witness: state: %w", err)
	}
	w.latest, w.note = &c, cosigned
	w.cfg.Log.Info("cosigned", "origin", c.Origin, "size", c.Size, "root", c.Root.String(), "from", oldSize)
	return line, nil
}

// splitView records evidence of a checkpoint inconsistent with the latest
// cosigned one: both signed notes (and the proof) in a file and in the log,
// at error level, since it means the log showed two histories.
func (w *Witness) splitView(c ledger.Checkpoint, signed []byte, proof []ledger.Hash, status int, reason string) error {
	ev := &ledger.SplitViewError{Origin: c.Origin, Reason: reason,
		Sources: [2]string{"cosigned before by this witness", "submitted now"}, Notes: [2][]byte{w.note, signed}}
	text := ev.Evidence()
	if len(proof) > 0 {
		text += "\n--- consistency proof submitted ---\n" + string(Request{Proof: proof}.Marshal()[len("old 0\n"):])
	}
	name, err := writeEvidence(w.cfg.StateFile+".evidence", fmt.Sprintf("%d-size-%d-*.txt", w.cfg.Now().Unix(), c.Size), text)
	if err != nil {
		w.cfg.Log.Error("witness: evidence not written", "err", err)
	}
	w.cfg.Log.Error("SPLIT VIEW: the log submitted a checkpoint inconsistent with the one this witness cosigned; refused",
		"origin", c.Origin, "reason", reason, "evidence_file", name, "evidence", text)
	return &Error{Status: status, Msg: reason, Evidence: ev}
}

// writeEvidence writes text to a new file in dir named after pattern.
func writeEvidence(dir, pattern, text string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return "", err
	}
	_, werr := f.WriteString(text)
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		return f.Name(), err
	}
	return f.Name(), nil
}

// ServeHTTP serves POST /add-checkpoint.
func (w *Witness) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/add-checkpoint" {
		http.NotFound(rw, r)
		return
	}
	if r.Method != http.MethodPost {
		rw.Header().Set("Allow", "POST")
		http.Error(rw, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequest+1))
	if err != nil {
		http.Error(rw, "reading the request: "+err.Error(), http.StatusBadRequest)
		return
	}
	req, err := ParseRequest(body)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	line, err := w.AddCheckpoint(r.Context(), req.OldSize, req.Proof, req.Checkpoint)
	var ce *ConflictError
	var we *Error
	switch {
	case err == nil:
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = rw.Write(line)
	case errors.As(err, &ce):
		rw.Header().Set("Content-Type", SizeContentType)
		rw.WriteHeader(http.StatusConflict)
		_, _ = rw.Write([]byte(strconv.FormatUint(ce.Size, 10) + "\n"))
	case errors.As(err, &we):
		if we.Evidence == nil {
			w.cfg.Log.Warn("add-checkpoint refused", "status", we.Status, "err", we.Msg)
		}
		http.Error(rw, we.Msg, we.Status)
	default:
		w.cfg.Log.Error("add-checkpoint", "err", err)
		http.Error(rw, "internal error", http.StatusInternalServerError)
	}
}
