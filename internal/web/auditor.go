package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
)

// auditorData is the auditor's pages: the latest checkpoint, against which
// the verify page checks a record's inclusion in the browser.
type auditorData struct {
	Checkpoint  *service.CheckpointView
	Key         string
	Root        string // base64, for the page's script
	Size        string
	Checkpoints *table
}

// auditorView reads the latest checkpoint and the verifier key.
func (h *handler) auditorView(ctx context.Context, who domain.Actor, r *http.Request) (*view, error) {
	l := localeIn(ctx)
	d := &auditorData{Checkpoints: l.table("/auditor", "checkpoint", "Latest checkpoint", "Origin", "Tree size", "Root (base64)")}
	d.Checkpoints.Empty = l.T("No checkpoint is signed yet.")
	cp, err := h.svc.LatestCheckpoint(ctx, who)
	switch {
	case domain.ErrorCode(err) == domain.ENOTFOUND:
	case err != nil:
		return nil, err
	default:
		d.Checkpoint = &cp
		d.Root, d.Size = cp.Root.String(), strconv.FormatUint(cp.Size, 10)
		d.Checkpoints.add(cp.Origin, d.Size, d.Root)
		if d.Key, err = h.svc.VerifierKey(ctx, who); err != nil {
			return nil, err
		}
	}
	title := l.T("Auditor: the ledger's checkpoint")
	if r.URL.Path == "/auditor/verify" {
		title = l.T("Auditor: check a record's inclusion")
	}
	v := &view{Title: title, Data: d, Tables: []*table{d.Checkpoints}}
	return v, nil
}

// proof serves an inclusion proof as JSON for the verify page's script. It
// carries hashes only; the browser recomputes the leaf from the pasted
// record and checks the path against the checkpoint's root itself.
func (h *handler) proof(w http.ResponseWriter, r *http.Request, who domain.Actor, _ string) {
	q := r.URL.Query()
	index, err1 := strconv.ParseInt(q.Get("index"), 10, 64)
	size, err2 := strconv.ParseInt(q.Get("size"), 10, 64)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if err1 != nil || err2 != nil {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "index and size must be integers"})
		return
	}
	p, err := h.svc.InclusionProof(r.Context(), who, index, size)
	if err != nil {
		status := http.StatusInternalServerError
		switch domain.ErrorCode(err) {
		case domain.EINVALID:
			status = http.StatusUnprocessableEntity
		case domain.ENOTFOUND:
			status = http.StatusNotFound
		case domain.EFORBIDDEN:
			status = http.StatusForbidden
		default:
			h.log.ErrorContext(r.Context(), "web: inclusion proof", "err", err)
		}
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": localeIn(r.Context()).ErrText(err)})
		return
	}
	_ = json.NewEncoder(w).Encode(p)
}
