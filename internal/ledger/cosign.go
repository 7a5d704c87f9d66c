package ledger

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// Cosignatures, C2SP tlog-cosignature (cosignature/v1): a witness states
// that, as of a time, the checkpoint is the largest consistent tree it has
// seen of the log. It is a note signature line added to the checkpoint,
//
//	— <witness name> base64(key ID || timestamp || Ed25519 signature)
//
// where the key ID is SHA-256(name || "\n" || 0x04 || public key)[:4], the
// timestamp is 8 bytes big-endian (POSIX seconds), and the signature covers
//
//	cosignature/v1\n
//	time <timestamp>\n
//	<the checkpoint's note text, its final newline included>
//
// golang.org/x/mod/sumdb/note knows only its own Ed25519 signatures (type
// 0x01), so the cosignature type 0x04 is implemented here with crypto/ed25519
// and offered to note.Open as a note.Verifier.

// cosignatureType is the signature type byte of cosignature/v1 keys.
const cosignatureType = 0x04

// cosignatureHeader is the first line of the signed message.
const cosignatureHeader = "cosignature/v1\n"

// GenerateWitnessKey returns a new witness signing key, in the note format
// of an ordinary Ed25519 note key ("PRIVATE+KEY+<name>+<hash>+<key>", as
// GenerateKey writes), and its cosignature/v1 verifier key
// ("<name>+<key ID>+<base64 of 0x04 || public key>"), which logs and
// auditors configure to check the witness's cosignatures. The name should be
// a schema-less URL naming the witness, e.g. "witness.mofcom.example/chipgate".
func GenerateWitnessKey(name string) (skey, vkey string, err error) {
	if err := checkOrigin(name); err != nil {
		return "", "", err
	}
	skey, _, err = note.GenerateKey(rand.Reader, name)
	if err != nil {
		return "", "", fmt.Errorf("ledger: generate witness key: %w", err)
	}
	c, err := ParseCosigner(skey)
	if err != nil {
		return "", "", err
	}
	return skey, c.VerifierKey(), nil
}

// Cosigner makes cosignature/v1 signatures with a witness's key. It reads no
// clock: the caller says when it cosigns. Safe for concurrent use.
type Cosigner struct {
	name string
	key  ed25519.PrivateKey
	id   uint32
	vkey string
}

// ParseCosigner reads a witness signing key from GenerateWitnessKey (any
// Ed25519 note signing key will do: the cosignature key ID differs from the
// note key's, as the type byte differs).
func ParseCosigner(skey string) (*Cosigner, error) {
	skey = strings.TrimSpace(skey)
	s, err := note.NewSigner(skey) // checks the form, the algorithm and the hash
	if err != nil {
		return nil, fmt.Errorf("ledger: witness key: %w", err)
	}
	parts := strings.SplitN(skey, "+", 5)
	raw, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(raw) != 1+ed25519.SeedSize {
		return nil, errors.New("ledger: witness key: not an Ed25519 key")
	}
	priv := ed25519.NewKeyFromSeed(raw[1:])
	pub := priv.Public().(ed25519.PublicKey)
	c := &Cosigner{name: s.Name(), key: priv, id: cosignatureKeyID(s.Name(), pub)}
	c.vkey = fmt.Sprintf("%s+%08x+%s", c.name, c.id, base64.StdEncoding.EncodeToString(append([]byte{cosignatureType}, pub...)))
	return c, nil
}

// Name is the witness's name, the first field of its signature lines.
func (c *Cosigner) Name() string { return c.name }

// VerifierKey is the cosignature/v1 verifier key of the witness.
func (c *Cosigner) VerifierKey() string { return c.vkey }

// Verifier checks c's cosignatures.
func (c *Cosigner) Verifier() note.Verifier {
	return &cosignatureVerifier{name: c.name, id: c.id, pub: c.key.Public().(ed25519.PublicKey)}
}

// Cosign returns the note signature line (with its newline) of a
// cosignature/v1 by c on the checkpoint whose note text is text, made at the
// given time (truncated to the second).
func (c *Cosigner) Cosign(text []byte, at time.Time) ([]byte, error) {
	if err := checkNoteText(text); err != nil {
		return nil, err
	}
	if at.Unix() < 0 {
		return nil, fmt.Errorf("ledger: cosignature time %s is before 1970", at)
	}
	t := uint64(at.Unix())
	blob := make([]byte, 0, 4+8+ed25519.SignatureSize)
	blob = binary.BigEndian.AppendUint32(blob, c.id)
	blob = binary.BigEndian.AppendUint64(blob, t)
	blob = append(blob, ed25519.Sign(c.key, cosignatureMessage(t, text))...)
	return []byte("— " + c.name + " " + base64.StdEncoding.EncodeToString(blob) + "\n"), nil
}

// checkNoteText accepts the text of a checkpoint note: at least three
// newline-terminated lines.
func checkNoteText(text []byte) error {
	if len(text) == 0 || text[len(text)-1] != '\n' || bytes.Count(text, []byte("\n")) < 3 {
		return errors.New("ledger: a cosigned text must be a checkpoint: three or more lines, each ending in a newline")
	}
	return nil
}

func cosignatureMessage(t uint64, text []byte) []byte {
	msg := make([]byte, 0, len(cosignatureHeader)+30+len(text))
	msg = append(msg, cosignatureHeader...)
	msg = append(msg, "time "...)
	msg = strconv.AppendUint(msg, t, 10)
	msg = append(msg, '\n')
	return append(msg, text...)
}

func cosignatureKeyID(name string, pub ed25519.PublicKey) uint32 {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{'\n', cosignatureType})
	h.Write(pub)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// NewCosignatureVerifier parses a cosignature/v1 verifier key (signature
// type 0x04, as GenerateWitnessKey returns) into a note.Verifier that
// note.Open uses to check a witness's cosignature lines. It refuses keys of
// other types, so that a log's own key can never pass for a witness's.
func NewCosignatureVerifier(vkey string) (note.Verifier, error) {
	vkey = strings.TrimSpace(vkey)
	name, rest, ok1 := strings.Cut(vkey, "+")
	hash16, key64, ok2 := strings.Cut(rest, "+")
	raw, err := base64.StdEncoding.DecodeString(key64)
	if !ok1 || !ok2 || err != nil || len(hash16) != 8 || checkOrigin(name) != nil {
		return nil, fmt.Errorf("ledger: witness verifier key %q: malformed", vkey)
	}
	if len(raw) != 1+ed25519.PublicKeySize || raw[0] != cosignatureType {
		return nil, fmt.Errorf("ledger: witness verifier key %q: not a cosignature/v1 (type 0x04) Ed25519 key", vkey)
	}
	id, err := strconv.ParseUint(hash16, 16, 32)
	pub := ed25519.PublicKey(raw[1:])
	if err != nil || uint32(id) != cosignatureKeyID(name, pub) {
		return nil, fmt.Errorf("ledger: witness verifier key %q: the key ID does not match the key", vkey)
	}
	return &cosignatureVerifier{name: name, id: uint32(id), pub: pub}, nil
}

type cosignatureVerifier struct {
	name string
	id   uint32
	pub  ed25519.PublicKey
}

func (v *cosignatureVerifier) Name() string    { return v.name }
func (v *cosignatureVerifier) KeyHash() uint32 { return v.id }

// Verify checks sig (timestamp || signature, the key ID already removed by
// note.Open) on the note text msg.
func (v *cosignatureVerifier) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize || checkNoteText(msg) != nil {
		return false
	}
	t := binary.BigEndian.Uint64(sig)
	if t > math.MaxInt64 {
		return false
	}
	return ed25519.Verify(v.pub, cosignatureMessage(t, msg), sig[8:])
}

// Cosignature is one witness's valid cosignature on a checkpoint.
type Cosignature struct {
	Witness string    `json:"witness"`
	Time    time.Time `json:"time"`
}

// Cosignatures returns the valid cosignatures on a signed checkpoint note by
// the given witnesses (one per witness at most), after checking the log's
// own signature with logKey. A signature line that claims to be a witness's
// but does not verify is not counted; it does not make the checkpoint fail,
// since anyone who can edit a stored note can add one.
func Cosignatures(signed []byte, logKey note.Verifier, witnesses []note.Verifier) (Checkpoint, []Cosignature, error) {
	c, err := OpenCheckpoint(signed, logKey)
	if err != nil {
		return Checkpoint{}, nil, err
	}
	var out []Cosignature
	seen := map[string]bool{}
	for _, w := range witnesses {
		key := w.Name() + "+" + strconv.FormatUint(uint64(w.KeyHash()), 16)
		if seen[key] {
			continue
		}
		n, err := note.Open(signed, note.VerifierList(w))
		if err != nil || len(n.Sigs) != 1 {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(n.Sigs[0].Base64)
		if err != nil || len(raw) != 4+8+ed25519.SignatureSize {
			continue
		}
		seen[key] = true
		out = append(out, Cosignature{Witness: w.Name(), Time: time.Unix(int64(binary.BigEndian.Uint64(raw[4:])), 0).UTC()})
	}
	return c, out, nil
}

// AddSignatureLines returns the note signed with the signature lines in
// lines appended after its own (each line "— name base64\n"), for a log that
// adds the cosignatures witnesses returned. It refuses lines that are not
// note signature lines.
func AddSignatureLines(signed []byte, lines []byte) ([]byte, error) {
	if len(signed) == 0 || signed[len(signed)-1] != '\n' || !bytes.Contains(signed, []byte("\n\n— ")) {
		return nil, errors.New("ledger: not a signed note")
	}
	for rest := lines; len(rest) > 0; {
		line, after, ok := bytes.Cut(rest, []byte("\n"))
		if !ok || !bytes.HasPrefix(line, []byte("— ")) || bytes.Count(line, []byte(" ")) != 2 {
			return nil, fmt.Errorf("ledger: %q is not a note signature line", line)
		}
		rest = after
	}
	out := make([]byte, 0, len(signed)+len(lines))
	return append(append(out, signed...), lines...), nil
}
