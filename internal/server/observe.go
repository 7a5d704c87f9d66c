package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
)

type logInfoKey struct{}

// logInfo carries what a handler learns that the access log should show.
type logInfo struct{ party string }

func setLogParty(r *http.Request, slug string) {
	if li, ok := r.Context().Value(logInfoKey{}).(*logInfo); ok {
		li.party = slug
	}
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe adds a request id, security headers, panic recovery, an access log
// line and metrics to every request. The log never holds a token or a query
// string (queries may carry names being screened).
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		var b [8]byte
		_, _ = rand.Read(b[:])
		id := hex.EncodeToString(b[:])
		w.Header().Set("X-Request-Id", id)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.Header().Set("Cache-Control", "no-store")
		li := &logInfo{}
		r = r.WithContext(context.WithValue(r.Context(), logInfoKey{}, li))
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("panic", "request_id", id, "panic", p)
				if sw.status == 0 {
					writeProblem(sw, r, s.log, &domain.Error{Code: domain.EINTERNAL, Message: "internal error"})
				}
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			dur := time.Since(start)
			s.reqs.WithLabelValues(route, strconv.Itoa(sw.status)).Inc()
			s.latency.WithLabelValues(route).Observe(dur.Seconds())
			s.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("id", id), slog.String("method", r.Method), slog.String("path", redactSecrets(r.URL.Path)),
				slog.Int("status", sw.status), slog.Int64("bytes", sw.bytes),
				slog.Duration("dur", dur), slog.String("party", li.party))
		}()
		next.ServeHTTP(sw, r)
	})
}

// redactSecrets replaces what looks like a chipgate secret (an API token
// "cg_…" or a session "cgs_…", pasted into a URL by mistake) with its
// prefix and "[redacted]", so that no secret reaches the access log.
func redactSecrets(path string) string {
	if !strings.Contains(path, "cg") {
		return path
	}
	var b strings.Builder
	for i := 0; i < len(path); {
		j := strings.Index(path[i:], "cg")
		if j < 0 {
			b.WriteString(path[i:])
			break
		}
		j += i
		prefix := ""
		for _, p := range []string{service.SessionPrefix, service.TokenPrefix} {
			if strings.HasPrefix(path[j:], p) {
				prefix = p
				break
			}
		}
		end := j + len(prefix)
		for end < len(path) && isSecretByte(path[end]) {
			end++
		}
		if prefix == "" || end-j-len(prefix) < 8 {
			b.WriteString(path[i : j+2])
			i = j + 2
			continue
		}
		b.WriteString(path[i:j])
		b.WriteString(prefix + "[redacted]")
		i = end
	}
	return b.String()
}

// isSecretByte reports whether c is a byte of a secret's base64url body.
func isSecretByte(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}
