package ledger

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"

	"github.com/transparency-dev/merkle/rfc6962"
)

// HashSize is the size of every leaf and node hash: SHA-256.
const HashSize = sha256.Size

// Hash is one SHA-256 leaf or node hash. It is an array, not a slice, so that
// a tree of ten million leaves is one flat allocation per tile rather than
// ten million small ones. In JSON and text it is standard base64, the
// encoding checkpoints use for the root hash.
type Hash [HashSize]byte

// String returns the base64 form of h.
func (h Hash) String() string { return base64.StdEncoding.EncodeToString(h[:]) }

// MarshalText encodes h as standard base64.
func (h Hash) MarshalText() ([]byte, error) {
	out := make([]byte, base64.StdEncoding.EncodedLen(HashSize))
	base64.StdEncoding.Encode(out, h[:])
	return out, nil
}

// UnmarshalText decodes standard base64 of exactly HashSize bytes.
func (h *Hash) UnmarshalText(text []byte) error {
	if len(text) != base64.StdEncoding.EncodedLen(HashSize) {
		return fmt.Errorf("ledger: hash must be %d base64 characters, got %d", base64.StdEncoding.EncodedLen(HashSize), len(text))
	}
	var buf [HashSize + 2]byte // DecodedLen rounds up to a multiple of 3
	n, err := base64.StdEncoding.Strict().Decode(buf[:], text)
	if err != nil {
		return fmt.Errorf("ledger: hash: %w", err)
	}
	if n != HashSize {
		return fmt.Errorf("ledger: hash must be %d bytes, got %d", HashSize, n)
	}
	copy(h[:], buf[:HashSize])
	return nil
}

// HashFromBytes converts a hash given as a slice (as the merkle and formats
// packages return them) and rejects any other length.
func HashFromBytes(b []byte) (Hash, error) {
	var h Hash
	if len(b) != HashSize {
		return h, fmt.Errorf("ledger: hash must be %d bytes, got %d", HashSize, len(b))
	}
	copy(h[:], b)
	return h, nil
}

// EmptyRoot is the root of the tree with no leaves: SHA-256 of nothing
// (RFC 6962, section 2.1).
func EmptyRoot() Hash { return sha256.Sum256(nil) }

// hasher is the RFC 6962 hasher of transparency-dev/merkle. The hot paths
// below compute the same functions without allocating; tests check that the
// two agree.
var hasher = rfc6962.DefaultHasher

// hashChildren returns SHA-256(0x01 || left || right), the RFC 6962 interior
// node hash. The input lives on the stack, so it does not allocate.
func hashChildren(left, right *Hash) Hash {
	var buf [1 + 2*HashSize]byte
	buf[0] = rfc6962.RFC6962NodeHashPrefix
	copy(buf[1:], left[:])
	copy(buf[1+HashSize:], right[:])
	return sha256.Sum256(buf[:])
}

// hashChildrenBytes adapts hashChildren to the signature proof.Nodes.Rehash
// expects.
func hashChildrenBytes(left, right []byte) []byte {
	return hasher.HashChildren(left, right)
}

// HashLeafData returns the RFC 6962 leaf hash of arbitrary leaf data,
// SHA-256(0x00 || data). Most callers want LeafHash, which encodes an
// AuditRecord first.
func HashLeafData(data []byte) Hash {
	var h Hash
	copy(h[:], hasher.HashLeaf(data))
	return h
}

// perfectRoot returns the root of the perfect subtree whose leaves (at any
// level) are row, len(row) a power of two, using scratch (len ≥ len(row)/2)
// so that it does not allocate.
func perfectRoot(row []Hash, scratch []Hash) Hash {
	n := len(row)
	if n == 1 {
		return row[0]
	}
	for i := 0; i < n; i += 2 {
		scratch[i/2] = hashChildren(&row[i], &row[i+1])
	}
	for n /= 2; n > 1; n /= 2 {
		for i := 0; i < n; i += 2 {
			scratch[i/2] = hashChildren(&scratch[i], &scratch[i+1])
		}
	}
	return scratch[0]
}
