package server

import (
	"bytes"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
)

// FuzzDecodeBody feeds arbitrary bytes to the API's body decoder as an
// application, an order and a shipment: it must never panic, and every
// refusal must be a 4xx the problem writer knows.
func FuzzDecodeBody(f *testing.F) {
	for _, seed := range []string{
		`{"product":"h200","quantity":1,"requested_period":"2026-03-02","site":0,"end_use":"commercial_ai"}`,
		`{"legal_name":"x","owners":[{"party":"a","share":60}],"sites":[{"lat":1,"lon":2}]}`,
		`{"order":"x","serials":["A"],"unit_value":{"minor":1,"currency":"USD"}}`,
		`[`, `{"quantity":1e999}`, "{\"a\":\"\xff\"}", `{"quantity":"1"}`, `{} {}`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, v := range []any{&service.ApplicationRequest{}, &service.OrderRequest{}, &service.ShipmentRequest{}} {
			r := httptest.NewRequest("POST", "/api/v1/x", bytes.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			err := decode(r, v)
			if err == nil {
				continue
			}
			var he *httpError
			switch {
			case errors.As(err, &he):
				if he.status < 400 || he.status > 499 {
					t.Fatalf("status %d for %q", he.status, body)
				}
			case domain.ErrorCode(err) != domain.EINVALID:
				t.Fatalf("decode(%q) = %v, want an EINVALID or 4xx error", body, err)
			}
		}
	})
}
