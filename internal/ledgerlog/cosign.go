package ledgerlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/chipgate/chipgate/internal/ledger"
	"github.com/chipgate/chipgate/internal/witness"
)

// cosign asks every witness, in parallel and within WitnessTimeout, to
// cosign the checkpoint, and returns signed with the valid cosignatures
// appended. A witness that fails or refuses is logged and counted; fewer
// cosignatures than the quorum is an error in the log, not a reason to
// withhold the checkpoint (its records are committed already).
func (l *Log) cosign(ctx context.Context, c ledger.Checkpoint, signed []byte) []byte {
	if len(l.cfg.Witnesses) == 0 {
		return signed
	}
	return l.gather(ctx, c, signed, make([]bool, len(l.cfg.Witnesses)))
}

// gather asks the witnesses not marked done to cosign signed.
func (l *Log) gather(ctx context.Context, c ledger.Checkpoint, signed []byte, done []bool) []byte {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, l.cfg.WitnessTimeout)
	defer cancel()
	lines := make([][]byte, len(l.cfg.Witnesses))
	errs := make(chan error, len(l.cfg.Witnesses))
	for i, w := range l.cfg.Witnesses {
		if done[i] {
			errs <- nil
			continue
		}
		go func() {
			var err error
			lines[i], err = l.cosignOne(ctx, i, w, c, signed)
			if err != nil {
				err = fmt.Errorf("witness %s: %w", w.Verifier().Name(), err)
			}
			errs <- err
		}()
	}
	have := 0
	for range l.cfg.Witnesses {
		if err := <-errs; err != nil {
			l.cfg.Log.Warn("ledger: a witness did not cosign the checkpoint", "size", c.Size, "err", err)
		}
	}
	for i := range done {
		if done[i] || len(lines[i]) > 0 {
			have++
		}
	}
	l.cfg.Metrics.CosignSeconds.Observe(time.Since(start).Seconds())
	out := signed
	for _, ls := range lines {
		if len(ls) > 0 {
			var err error
			if out, err = ledger.AddSignatureLines(out, ls); err != nil {
				l.cfg.Log.Warn("ledger: a cosignature could not be added", "err", err)
			}
		}
	}
	if have < l.cfg.Quorum {
		l.cfg.Metrics.Unwitnessed.Inc()
		l.cfg.Log.Error("LEDGER: the checkpoint lacks the cosignatures the policy requires: auditors will not accept it until a later checkpoint has them",
			"size", c.Size, "cosignatures", have, "required", l.cfg.Quorum)
	}
	return out
}

// cosignOne runs the add-checkpoint exchange with witness i: from the size
// the log believes the witness has, and once more from the size a 409
// names. It returns the witness's own valid signature lines.
func (l *Log) cosignOne(ctx context.Context, i int, w Witness, c ledger.Checkpoint, signed []byte) ([]byte, error) {
	name := w.Verifier().Name()
	old := l.known[i]
	for attempt := 0; ; attempt++ {
		if old > c.Size {
			l.cfg.Metrics.Cosignatures.WithLabelValues(name, "ahead").Inc()
			l.cfg.Log.Error("LEDGER: a witness has cosigned a larger tree than the log's latest: the log lost entries (a restored backup?), or the witness was shown another history",
				"witness", name, "witness_size", old, "size", c.Size)
			return nil, fmt.Errorf("the witness cosigned a tree of size %d, larger than this checkpoint's %d", old, c.Size)
		}
		var proof []ledger.Hash
		if old > 0 && old < c.Size {
			var err error
			if proof, err = ledger.ConsistencyProof(ctx, l.cfg.Tiles, old, c.Size); err != nil {
				return nil, err
			}
		}
		resp, err := w.AddCheckpoint(ctx, old, proof, signed)
		var ce *witness.ConflictError
		if errors.As(err, &ce) && attempt == 0 {
			old = ce.Size
			continue
		}
		if err != nil {
			l.cfg.Metrics.Cosignatures.WithLabelValues(name, "error").Inc()
			return nil, err
		}
		own := ownLines(resp, name)
		withOwn, err := ledger.AddSignatureLines(signed, own)
		if err != nil {
			l.cfg.Metrics.Cosignatures.WithLabelValues(name, "invalid").Inc()
			return nil, err
		}
		// The log's own signature was checked when it signed: only the
		// witness's is checked here.
		if n, err := note.Open(withOwn, note.VerifierList(w.Verifier())); err != nil || len(n.Sigs) != 1 {
			l.cfg.Metrics.Cosignatures.WithLabelValues(name, "invalid").Inc()
			return nil, errors.New("the answer holds no valid cosignature of this checkpoint")
		}
		l.known[i] = c.Size
		l.cfg.Metrics.Cosignatures.WithLabelValues(name, "ok").Inc()
		return own, nil
	}
}

// ownLines keeps the signature lines by the named key.
func ownLines(resp []byte, name string) []byte {
	var out []byte
	prefix := []byte("— " + name + " ")
	for _, line := range bytes.SplitAfter(resp, []byte("\n")) {
		if bytes.HasPrefix(line, prefix) && bytes.HasSuffix(line, []byte("\n")) {
			out = append(out, line...)
		}
	}
	return out
}

// recosign asks the witnesses that have not cosigned the published
// checkpoint to do so, when it lacks the quorum: a witness that was down
// when it was signed gets another chance while the log is idle.
func (l *Log) recosign(ctx context.Context, c ledger.Checkpoint, published []byte) error {
	if l.cfg.Quorum == 0 || len(l.cfg.Witnesses) == 0 {
		return nil
	}
	done := make([]bool, len(l.cfg.Witnesses))
	have := 0
	for i, w := range l.cfg.Witnesses {
		if _, cosigs, err := ledger.Cosignatures(published, l.verifier, []note.Verifier{w.Verifier()}); err == nil && len(cosigs) == 1 {
			done[i] = true
			have++
		}
	}
	if have >= l.cfg.Quorum {
		return nil
	}
	out := l.gather(ctx, c, published, done)
	if bytes.Equal(out, published) {
		return nil
	}
	return l.cfg.Checkpoints.Publish(ctx, c, out)
}
