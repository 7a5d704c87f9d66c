package service

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/store"
)

// The screening log's integrity (issue 17; docs/SCREENING.md). Each entry
// carries the hash of its content chained to the previous entry's hash,
// and its place in the chain (seq, gapless from 1). The chain's head is
// sealed into the ledger — a screening_log.sealed record holding the head's
// seq and hash — before every checkpoint the leader signs while entries were
// added (SealScreeningLog), so that the signed log vouches for the chain up
// to each seal.
// `chipgate ledger verify --state` recomputes the chain from the stored
// entries and compares it with every seal (VerifyState): an entry edited,
// deleted, inserted or moved is named.

// chainDomain separates the chain's hashes from every other hash.
const chainDomain = "chipgate screening log v1\n"

// chainLink is an entry's chained hash: SHA-256 over the domain, the
// previous entry's hash (empty for the first), the seq, the kind and the
// document (which holds the entry's id and instant).
func chainLink(prev []byte, r *store.ScreeningLogRow) []byte {
	h := sha256.New()
	h.Write([]byte(chainDomain))
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(prev)))
	h.Write(n[:])
	h.Write(prev)
	binary.BigEndian.PutUint64(n[:], uint64(r.Seq))
	h.Write(n[:])
	binary.BigEndian.PutUint64(n[:], uint64(len(r.Kind)))
	h.Write(n[:])
	h.Write([]byte(r.Kind))
	h.Write(r.Doc)
	return h.Sum(nil)
}

// ScreeningLogSeal is the payload of a screening_log.sealed record: the
// chain's head when it was sealed, and how many entries since the last seal.
type ScreeningLogSeal struct {
	Seq     int64  `json:"seq"`
	Hash    string `json:"hash"` // hex
	Entries int64  `json:"entries"`
}

// SealScreeningLog records the screening log's head in the ledger when
// entries were added since the last seal: one screening_log.sealed record
// of the system actor, in the transaction that locks the head, so that the
// seal is the chain's state at its commit. The leader calls it before each
// checkpoint it signs (RunCheckpoints; serve at start and at shutdown);
// SignCheckpoint itself writes no record. A seal with nothing new is a
// no-op, so replicas racing for it write one.
func (s *Service) SealScreeningLog(ctx context.Context) error {
	return s.store.InTx(ctx, func(tx store.Tx) error {
		head, err := tx.ScreeningLogHead(ctx, true)
		if err != nil || head.Seq == head.Sealed {
			return err
		}
		if err := tx.SealScreeningLog(ctx, head.Seq); err != nil {
			return err
		}
		seal := ScreeningLogSeal{Seq: head.Seq, Hash: hex.EncodeToString(head.Hash), Entries: head.Seq - head.Sealed}
		return s.record(ctx, tx, domain.SystemActor, s.Now(), "screening_log.sealed", "screening_log", fmt.Sprint(head.Seq), seal)
	})
}

// ScreeningLogReport is what verifying the screening log found: the
// entries in the chain, those logged before it, the seals checked, and
// every disagreement, the first naming the first entry that differs.
type ScreeningLogReport struct {
	Entries   int64
	Unchained int
	Seals     int
	Diffs     []string
}

// seals collects the screening_log.sealed records of a replay, with their
// ledger indexes.
type seals struct {
	list []sealAt
}

type sealAt struct {
	index int64
	seal  ScreeningLogSeal
}

func (c *seals) add(rec *domain.AuditRecord) {
	if rec.Action != "screening_log.sealed" {
		return
	}
	var s ScreeningLogSeal
	if err := json.Unmarshal(rec.Payload, &s); err != nil {
		s.Seq = -1 // a seal that does not parse matches nothing
	}
	c.list = append(c.list, sealAt{rec.Index, s})
}

// verifyScreeningLog recomputes the chain from the stored entries and
// checks it against itself (each entry's stored hash and seq), the head,
// and every seal the ledger holds.
func (s *Service) verifyScreeningLog(ctx context.Context, sl []sealAt) (ScreeningLogReport, error) {
	var rep ScreeningLogReport
	var rows []store.ScreeningLogRow
	var head store.ScreeningLogHead
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		if head, err = tx.ScreeningLogHead(ctx, false); err != nil {
			return err
		}
		return tx.ScanScreeningLog(ctx, func(r store.ScreeningLogRow) error {
			rows = append(rows, r)
			return nil
		})
	})
	if err != nil {
		return rep, err
	}
	diff := func(format string, args ...any) { rep.Diffs = append(rep.Diffs, fmt.Sprintf(format, args...)) }
	// Entries outside the chain were logged before it (migration 0023);
	// one logged after the chain began was put there by hand.
	var chainStart time.Time
	for _, r := range rows {
		if r.Seq != 0 {
			chainStart = r.At
			break
		}
	}
	// recomputed[seq] is the chain's hash at seq as the entries give it.
	recomputed := map[int64][]byte{}
	var prev []byte
	want := int64(1)
	for _, r := range rows {
		if r.Seq == 0 {
			rep.Unchained++
			if !chainStart.IsZero() && !r.At.Before(chainStart) {
				diff("entry %s (%s, %s) is outside the chain but logged after it began: inserted by hand", r.ID, r.Kind, r.At.Format(time.RFC3339Nano))
			}
			continue
		}
		rep.Entries++
		var d struct {
			ID   domain.ID `json:"id"`
			Kind string    `json:"kind"`
			At   time.Time `json:"at"`
		}
		if err := json.Unmarshal(r.Doc, &d); err != nil || d.ID != r.ID || d.Kind != r.Kind || !d.At.Truncate(time.Microsecond).Equal(r.At) {
			diff("entry seq %d (%s): its columns disagree with its document (id, kind or instant changed)", r.Seq, r.ID)
		}
		if r.Seq != want {
			if r.Seq > want {
				diff("entries seq %d to %d are missing before entry seq %d (%s): deleted", want, r.Seq-1, r.Seq, r.ID)
			} else {
				diff("entry seq %d (%s) is out of order after seq %d", r.Seq, r.ID, want-1)
			}
		}
		got := chainLink(prev, &store.ScreeningLogRow{Seq: r.Seq, Kind: r.Kind, Doc: r.Doc})
		if !bytes.Equal(got, r.Hash) {
			diff("entry seq %d (%s, %s): its content or place does not give its stored hash: edited, moved, or a predecessor deleted", r.Seq, r.ID, r.Kind)
		}
		recomputed[r.Seq] = got
		prev = r.Hash // the next link checks the next entry alone
		want = r.Seq + 1
	}
	switch {
	case head.Seq > want-1:
		diff("the head counts %d entries but the chain ends at seq %d: entries after it were deleted", head.Seq, want-1)
	case head.Seq < want-1:
		diff("the chain holds entries past its head (seq %d, the last is %d): inserted by hand", head.Seq, want-1)
	}
	// The seals: what the signed log vouches for. A chain rewritten
	// consistently (every hash recomputed) passes the checks above and
	// fails here.
	last := int64(0)
	for _, c := range sl {
		rep.Seals++
		h, ok := recomputed[c.seal.Seq]
		switch {
		case !ok:
			diff("ledger record %d seals the chain at seq %d, which is not stored: entries deleted", c.index, c.seal.Seq)
		case hex.EncodeToString(h) != c.seal.Hash:
			diff("ledger record %d seals the chain at seq %d with another hash: an entry from seq %d to %d was changed, deleted or moved since it was sealed", c.index, c.seal.Seq, last+1, c.seal.Seq)
		}
		last = max(last, c.seal.Seq)
	}
	return rep, nil
}
