package server

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/chipgate/chipgate/internal/domain"
)

// Problem is an RFC 9457 problem details object. Code is the domain error
// code; Errors names invalid fields by their path in the request.
type Problem struct {
	Type     string              `json:"type"`
	Title    string              `json:"title"`
	Status   int                 `json:"status"`
	Detail   string              `json:"detail,omitempty"`
	Instance string              `json:"instance,omitempty"`
	Code     string              `json:"code"`
	Errors   []domain.FieldError `json:"errors,omitempty"`
}

// statusOf maps each domain error code to its one HTTP status.
var statusOf = map[string]int{
	domain.EINVALID:      http.StatusUnprocessableEntity,
	domain.ENOTFOUND:     http.StatusNotFound,
	domain.ECONFLICT:     http.StatusConflict,
	domain.EUNAUTHORIZED: http.StatusUnauthorized,
	domain.EFORBIDDEN:    http.StatusForbidden,
	domain.EUNAVAILABLE:  http.StatusServiceUnavailable,
	domain.EINTERNAL:     http.StatusInternalServerError,
	// The state disagrees with the ledger: the server's fault, not the
	// client's, and no retry will help until it is restored.
	domain.EStateTampered: http.StatusInternalServerError,
	domain.EPRECONDITION:  http.StatusPreconditionFailed,
}

// httpError is an error whose status is not one of the domain codes' own
// (413, 415, 400 for undecodable bodies, 405).
type httpError struct {
	status int
	code   string
	msg    string
}

func (e *httpError) Error() string { return e.msg }

// writeProblem writes err as problem+json. Internal errors are logged and
// shown only as "internal error".
func writeProblem(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	p := Problem{Instance: r.URL.Path}
	var he *httpError
	if errors.As(err, &he) {
		p.Status, p.Code, p.Detail = he.status, he.code, he.msg
	} else {
		p.Code = domain.ErrorCode(err)
		p.Status = statusOf[p.Code]
		p.Detail = domain.ErrorMessage(err)
		p.Errors = domain.ErrorFields(err)
	}
	if p.Status == 0 {
		p.Status = http.StatusInternalServerError
	}
	switch p.Code {
	case domain.EINTERNAL:
		log.Error("internal error", "path", r.URL.Path, "err", err)
	case domain.EStateTampered:
		log.Error("state disagrees with the ledger", "path", r.URL.Path, "err", err)
	case domain.EUNAVAILABLE:
		log.Warn("unavailable", "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", "1")
	case domain.EUNAUTHORIZED:
		w.Header().Set("WWW-Authenticate", `Bearer realm="chipgate"`)
	}
	p.Type = "tag:chipgate,2026:problem:" + p.Code
	p.Title = http.StatusText(p.Status)
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// writeJSON writes v as JSON with the status, its lists never null.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	body, err := json.Marshal(arraysNotNull(v))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, err = w.Write(append(body, '\n'))
	return err
}
