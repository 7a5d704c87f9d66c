package ledgerlog

import (
	"context"
	"errors"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/chipgate/chipgate/internal/ledger"
)

// KeySigner is a Signer over a note signing key the process holds (the key
// file beside the server, or CHIPGATE_LEDGER_KEY).
type KeySigner struct {
	signer note.Signer
	vkey   string
}

var _ Signer = (*KeySigner)(nil)

// NewKeySigner reads a signing key and its verifier key (ledger.GenerateKey)
// and checks that they belong together.
func NewKeySigner(skey, vkey string) (*KeySigner, error) {
	s, err := ledger.ParseSignerKey(skey)
	if err != nil {
		return nil, err
	}
	v, err := ledger.ParseVerifierKey(vkey)
	if err != nil {
		return nil, err
	}
	if v.Name() != s.Name() || v.KeyHash() != s.KeyHash() {
		return nil, errors.New("ledger: the verifier key does not belong to the signing key")
	}
	return &KeySigner{signer: s, vkey: strings.TrimSpace(vkey)}, nil
}

// Sign implements Signer.
func (k *KeySigner) Sign(_ context.Context, c ledger.Checkpoint) ([]byte, error) {
	return ledger.SignCheckpoint(k.signer, c)
}

// VerifierKey implements Signer.
func (k *KeySigner) VerifierKey() string { return k.vkey }
