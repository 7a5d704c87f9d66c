package server_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/chipgate/chipgate/internal/chipgatetest"
	"github.com/chipgate/chipgate/internal/server"
	"github.com/chipgate/chipgate/internal/store/storetest"
)

// contract is the committed OpenAPI document, loaded and checked once,
// with a router that finds each request's operation in it.
var contract struct {
	once   sync.Once
	doc    *openapi3.T
	router routers.Router
	err    error
}

func contractRouter(tb testing.TB) routers.Router {
	tb.Helper()
	contract.once.Do(func() {
		raw, err := os.ReadFile("../../api/openapi.json")
		if err != nil {
			contract.err = err
			return
		}
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(raw)
		if err != nil {
			contract.err = err
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			contract.err = err
			return
		}
		doc.Servers = nil // match paths as they are
		contract.doc = doc
		contract.router, contract.err = legacy.NewRouter(doc)
	})
	if contract.err != nil {
		tb.Fatalf("api/openapi.json: %v", contract.err)
	}
	return contract.router
}

// checkContract wraps a server so that every response it gives is
// validated against the committed OpenAPI document: status, headers and
// body. A request the document has no operation for (a probe of an
// unknown path or method) is not checked; everything else that does not
// match fails the test.
func checkContract(t testing.TB) func(http.Handler) http.Handler {
	router := contractRouter(t)
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			for k, vs := range rec.Header() {
				w.Header()[k] = vs
			}
			w.WriteHeader(rec.Code)
			body := rec.Body.Bytes()
			_, _ = w.Write(body)

			route, params, err := router.FindRoute(r)
			if err != nil {
				return // not an operation of the API: a 404 or 405 probe
			}
			in := &openapi3filter.ResponseValidationInput{
				RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route,
					Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
				Status:  rec.Code,
				Header:  rec.Header(),
				Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
			}
			in.SetBodyBytes(body)
			if err := openapi3filter.ValidateResponse(r.Context(), in); err != nil {
				msg := err.Error()
				if len(msg) > 2000 {
					msg = msg[:2000] + "…"
				}
				t.Errorf("%s %s → %d does not match api/openapi.json: %s\nbody: %.500s", r.Method, r.URL, rec.Code, msg, body)
			}
		})
	}
}

// TestCommittedSpecIsServed: the document the server serves is
// api/openapi.json byte for byte (regenerate it with
// `go run ./cmd/chipgate openapi > api/openapi.json`), and it is a valid
// OpenAPI document.
func TestCommittedSpecIsServed(t *testing.T) {
	contractRouter(t)
	want, err := os.ReadFile("../../api/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	kit := chipgatetest.New(t, chipgatetest.OnBackend(storetest.Backends()[0]))
	api := kit.Serve(server.Options{RateLimit: -1})
	r := api.Do("", "GET", "/api/v1/openapi.json", nil)
	if r.Status != 200 || !bytes.Equal(r.Body, want) {
		t.Fatalf("the served document (%d, %d bytes) is not api/openapi.json (%d bytes): run go run ./cmd/chipgate openapi > api/openapi.json", r.Status, len(r.Body), len(want))
	}
	if !bytes.Equal(server.Spec(), want) {
		t.Fatal("server.Spec() is not api/openapi.json")
	}
}
