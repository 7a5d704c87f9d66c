package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/store"
)

// Version follows one record through a request: the entity tag of the
// version a read saw or a change wrote (Tag), and the tags a change is
// conditional on (IfMatch, from an If-Match header). A change whose record
// is not at one of those versions when the command reads it locked fails
// with EPRECONDITION, in the command's own transaction, so that no other
// change can slip in between the check and the write.
type Version struct {
	ID      domain.ID
	IfMatch []string
	// Tag is the quoted entity tag of the record as last read or written
	// in the request ("" when the request did not touch it).
	Tag string
}

type versionKey struct{}

// WithVersion returns a context under which the service records the
// version of the record id that the request reads or writes, and checks
// ifMatch (entity tags, or "*" for any version) when a command reads it
// to change it.
func WithVersion(ctx context.Context, id domain.ID, ifMatch []string) (context.Context, *Version) {
	v := &Version{ID: id, IfMatch: ifMatch}
	return context.WithValue(ctx, versionKey{}, v), v
}

// entityTag is a record's version: a digest of its stored body.
func entityTag(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}

// matches reports whether tag is one of the If-Match tags (strong
// comparison: a weak tag never matches, RFC 9110 §13.1.1).
func (v *Version) matches(tag string) bool {
	for _, m := range v.IfMatch {
		m = strings.TrimSpace(m)
		if m == "*" || m == tag {
			return true
		}
	}
	return false
}

// versionStore watches the reads and writes of the record a request's
// Version names.
type versionStore struct{ store.Store }

func (s versionStore) InTx(ctx context.Context, fn func(store.Tx) error) error {
	if ctx.Value(versionKey{}) == nil {
		return s.Store.InTx(ctx, fn)
	}
	return s.Store.InTx(ctx, func(tx store.Tx) error { return fn(versionTx{tx}) })
}

func (s versionStore) View(ctx context.Context, fn func(store.Tx) error) error {
	if ctx.Value(versionKey{}) == nil {
		return s.Store.View(ctx, fn)
	}
	return s.Store.View(ctx, func(tx store.Tx) error { return fn(versionTx{tx}) })
}

type versionTx struct{ store.Tx }

func (t versionTx) GetDoc(ctx context.Context, kind store.Kind, id domain.ID, forUpdate bool) (store.Doc, error) {
	d, err := t.Tx.GetDoc(ctx, kind, id, forUpdate)
	v, _ := ctx.Value(versionKey{}).(*Version)
	if err != nil || v == nil || v.ID != id {
		return d, err
	}
	v.Tag = entityTag(d.Body)
	if forUpdate && v.IfMatch != nil && !v.matches(v.Tag) {
		return store.Doc{}, domain.Errorf(domain.EPRECONDITION, "%s %s changed since the version in If-Match (now %s): read it again", strings.TrimSuffix(string(kind), "s"), id, v.Tag)
	}
	return d, nil
}

func (t versionTx) PutDoc(ctx context.Context, kind store.Kind, d store.Doc, create bool) error {
	if err := t.Tx.PutDoc(ctx, kind, d, create); err != nil {
		return err
	}
	if v, _ := ctx.Value(versionKey{}).(*Version); v != nil && v.ID == d.ID {
		v.Tag = entityTag(d.Body)
	}
	return nil
}
