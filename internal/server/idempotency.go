package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"net/http"
	"strconv"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/store"
)

// IdempotencyHeader names the header a client sets on a POST or PUT so that
// a retry returns the first response and writes nothing twice.
const IdempotencyHeader = "Idempotency-Key"

// recorder buffers a response so that it can be stored before it is sent.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

// idempotent runs handle at most once per (party, key): the key is claimed in
// its own transaction before the command runs, the response is stored after,
// and a retry with the same key and body gets the stored response. A retry
// while the first request is in flight gets 409; the same key with another
// body gets 422. A 5xx response releases the key so that a retry runs again.
func (s *Server) idempotent(w http.ResponseWriter, r *http.Request, who domain.Actor, key string, handle func(http.ResponseWriter, *http.Request) error) error {
	if len(key) == 0 || len(key) > 200 {
		return domain.Invalid(IdempotencyHeader, "must be 1 to 200 characters")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		return &httpError{status: http.StatusRequestEntityTooLarge, code: domain.EINVALID, msg: "the body exceeds the size limit"}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	h := sha256.New()
	h.Write([]byte(r.Method + " " + r.URL.Path + "\n"))
	h.Write(body)
	hash := h.Sum(nil)

	st := s.svc.Store()
	var prev *store.Idempotent
	if err := st.InTx(r.Context(), func(tx store.Tx) error {
		var err error
		prev, err = tx.ClaimIdempotency(r.Context(), who.PartyID, key, hash, s.svc.Now())
		return err
	}); err != nil {
		return err
	}
	if prev != nil {
		switch {
		case !bytes.Equal(prev.RequestHash, hash):
			return domain.Invalid(IdempotencyHeader, "was used for a different request")
		case prev.Status == 0:
			return domain.Errorf(domain.ECONFLICT, "a request with this Idempotency-Key is still in flight; retry later")
		}
		ct := "application/json"
		if prev.Status >= 400 {
			ct = "application/problem+json"
		}
		w.Header().Set("Content-Type", ct)
		w.Header().Set("Idempotent-Replayed", "true")
		w.WriteHeader(prev.Status)
		_, err := w.Write(prev.Response)
		return err
	}

	rec := &recorder{header: w.Header()}
	if err := handle(rec, r); err != nil {
		writeProblem(rec, r, s.log, err)
	}
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	// Store or release the key even if the client has gone away.
	ctx := context.WithoutCancel(r.Context())
	var finish error
	if rec.status >= 500 {
		finish = st.InTx(ctx, func(tx store.Tx) error { return tx.ReleaseIdempotency(ctx, who.PartyID, key) })
	} else {
		finish = st.InTx(ctx, func(tx store.Tx) error {
			return tx.CompleteIdempotency(ctx, who.PartyID, key, rec.status, rec.body.Bytes())
		})
	}
	if finish != nil {
		s.log.Warn("idempotency key not recorded", "status", rec.status, "err", finish)
	}
	w.Header().Set("Content-Length", strconv.Itoa(rec.body.Len()))
	w.WriteHeader(rec.status)
	_, err = w.Write(rec.body.Bytes())
	return err
}
