package ledger

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/chipgate/chipgate/internal/domain"
)

// LeafMagic opens every leaf. It names the format and its version, so that a
// later encoding can never be confused with this one, and so that an audit
// record's leaf can never be mistaken for some other structure hashed the
// same way.
const LeafMagic = "chipgate/audit-record/v1\n"

// Leaf encoding, version 1 (docs/LEDGER.md repeats it for other languages):
//
//	magic        the 25 bytes of LeafMagic
//	index        8 bytes, big-endian two's complement int64
//	id           16 bytes, the UUID in its binary form
//	at_seconds   8 bytes, big-endian int64: seconds since the Unix epoch (UTC)
//	at_nanos     4 bytes, big-endian uint32: nanoseconds within that second
//	actor_user   4-byte big-endian length, then the bytes
//	actor_party  same
//	actor_role   same
//	action       same
//	subject_type same
//	subject_id   same
//	payload      same (the canonical JSON exactly as stored)
//
// Fixed-width integers and length prefixes rather than JSON: a verifier in any
// language reproduces the bytes with a few lines of code, and no field can run
// into the next. The time is committed to the nanosecond, exactly as the
// record holds it, so no digit of a record can change without changing its
// leaf. A store that keeps less precision (PostgreSQL keeps microseconds)
// must therefore be given At already truncated to what it keeps. Only the
// instant is committed, not the time zone it is shown in.

// AppendLeafData appends the canonical leaf encoding of rec to dst and
// returns the extended slice. Reusing dst avoids an allocation per record
// when verifying millions of them. It fails only when a field is longer than
// 4 GiB, which no stored record can be.
func AppendLeafData(dst []byte, rec *domain.AuditRecord) ([]byte, error) {
	dst = append(dst, LeafMagic...)
	dst = binary.BigEndian.AppendUint64(dst, uint64(rec.Index))
	dst = append(dst, rec.ID[:]...)
	dst = binary.BigEndian.AppendUint64(dst, uint64(rec.At.Unix()))
	dst = binary.BigEndian.AppendUint32(dst, uint32(rec.At.Nanosecond()))
	for _, f := range [...]string{rec.ActorUser, rec.ActorParty, rec.ActorRole, rec.Action, rec.SubjectType, rec.SubjectID} {
		if len(f) > math.MaxUint32 {
			return nil, fmt.Errorf("ledger: record %d: a field is longer than 4 GiB", rec.Index)
		}
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(f)))
		dst = append(dst, f...)
	}
	if len(rec.Payload) > math.MaxUint32 {
		return nil, fmt.Errorf("ledger: record %d: payload is longer than 4 GiB", rec.Index)
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(rec.Payload)))
	return append(dst, rec.Payload...), nil
}

// LeafData returns the canonical leaf encoding of rec (see AppendLeafData).
func LeafData(rec *domain.AuditRecord) ([]byte, error) {
	return AppendLeafData(nil, rec)
}

// LeafHash returns the RFC 6962 leaf hash of rec: SHA-256(0x00 || LeafData).
// This is the hash the store writes into the tree at rec.Index.
func LeafHash(rec *domain.AuditRecord) (Hash, error) {
	var lh LeafHasher
	return lh.Hash(rec)
}

// LeafHasher computes leaf hashes reusing one buffer, for loops over many
// records (verify, export, batch append). Its zero value is ready to use; it
// is not safe for concurrent use.
type LeafHasher struct {
	buf []byte
}

// Hash returns the leaf hash of rec, as LeafHash does.
func (lh *LeafHasher) Hash(rec *domain.AuditRecord) (Hash, error) {
	// The RFC 6962 leaf prefix goes in front of the encoding in the same
	// buffer so that one Sum256 call hashes it all.
	buf, err := AppendLeafData(append(lh.buf[:0], 0x00), rec)
	if err != nil {
		return Hash{}, err
	}
	lh.buf = buf
	return sha256.Sum256(buf), nil
}
