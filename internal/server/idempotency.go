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
// its own transaction before the command runs, the command's transaction
// marks the claim committed (store.WithIdempotencyClaim), the response is
// stored after, and a retry with the same key and body gets the stored
// response. A retry while the first request is in flight gets 409; the same
// key with another body gets 422. A 5xx response releases the key so that a
// retry runs again.
//
// A crash between the steps leaves the key in flight. A retry after the
// idempotency lease takes such a claim over and runs the request, unless
// its command had committed (then it gets 409 saying so: the effect is
// there, the response was lost); the takeover fences the first claimant,
// whose command can no longer commit should it still be running.
func (s *Server) idempotent(w http.ResponseWriter, r *http.Request, who domain.Actor, key string, secret *secretAnswer, handle func(http.ResponseWriter, *http.Request) error) error {
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
	claimedAt := s.svc.Now()
	var prev *store.Idempotent
	if err := st.InTx(r.Context(), func(tx store.Tx) error {
		var err error
		prev, err = tx.ClaimIdempotency(r.Context(), who.PartyID, key, hash, claimedAt)
		return err
	}); err != nil {
		return err
	}
	if prev != nil {
		switch {
		case !bytes.Equal(prev.RequestHash, hash):
			return domain.Invalid(IdempotencyHeader, "was used for a different request")
		case prev.Status <= 0 && claimedAt.Sub(prev.ClaimedAt) < s.idempotencyLease:
			return domain.Errorf(domain.ECONFLICT, "a request with this Idempotency-Key is still in flight; retry later")
		case prev.Status == store.IdempotencyCommitted:
			return domain.Errorf(domain.ECONFLICT, "the request with this Idempotency-Key was carried out, but its response was lost when the server stopped; read the result instead of retrying")
		case prev.Status == 0:
			var took bool
			if err := st.InTx(r.Context(), func(tx store.Tx) error {
				var err error
				took, err = tx.TakeOverIdempotency(r.Context(), who.PartyID, key, prev.ClaimedAt, claimedAt)
				return err
			}); err != nil {
				return err
			}
			if !took {
				return domain.Errorf(domain.ECONFLICT, "a request with this Idempotency-Key is still in flight; retry later")
			}
		default:
			ct := "application/json"
			if prev.Status >= 400 {
				ct = "application/problem+json"
			}
			w.Header().Set("Content-Type", ct)
			body := prev.Response
			if secret != nil && prev.Status < 300 {
				var err error
				if body, err = secret.restore(r, who, body); err != nil {
					return err
				}
			}
			w.Header().Set("Idempotent-Replayed", "true")
			w.WriteHeader(prev.Status)
			_, err := w.Write(body)
			return err
		}
	}

	rec := &recorder{header: w.Header()}
	if err := handle(rec, r.WithContext(store.WithIdempotencyClaim(r.Context(), who.PartyID, key, claimedAt))); err != nil {
		writeProblem(rec, r, s.log, err)
	}
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	// Store or release the key even if the client has gone away.
	ctx := context.WithoutCancel(r.Context())
	var finish error
	if rec.status >= 500 {
		finish = st.InTx(ctx, func(tx store.Tx) error { return tx.ReleaseIdempotency(ctx, who.PartyID, key, claimedAt) })
	} else {
		kept := rec.body.Bytes()
		if secret != nil && rec.status < 300 {
			kept = secret.remove(kept)
		}
		finish = st.InTx(ctx, func(tx store.Tx) error {
			return tx.CompleteIdempotency(ctx, who.PartyID, key, claimedAt, rec.status, kept)
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

// secretAnswer takes a secret out of an answer kept for idempotent
// retries (remove) and puts it back when the answer is replayed (restore).
type secretAnswer struct {
	remove  func(body []byte) []byte
	restore func(r *http.Request, who domain.Actor, kept []byte) ([]byte, error)
}
