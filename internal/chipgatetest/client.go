package chipgatetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"testing"

	"github.com/chipgate/chipgate/internal/demo"
)

// Client sends API requests as the demo parties, by slug, to a server in
// the test's process (Env.Serve) or to a chipgate binary the test runs.
// Tests name who asks rather than which token, because the authorization
// rules they check are stated per party and role.
type Client struct {
	// TB is failed by Do when a request cannot be made or answered.
	TB testing.TB
	// URL is the server's base URL, without a trailing slash.
	URL string
	// Creds holds the tokens by party slug; a party missing from it sends
	// an empty bearer token.
	Creds map[string]demo.Credential
	// HTTP sends the requests; http.DefaultClient when nil.
	HTTP *http.Client
}

// Response is a finished response with its body read, so that a test can
// look at it after the connection is gone.
type Response struct {
	Status int
	Body   []byte
	Header http.Header
}

// Decode decodes the body's first JSON value into v, as a client reading
// the answer from the connection would: what follows it is not read.
func (r Response) Decode(v any) error {
	return json.NewDecoder(bytes.NewReader(r.Body)).Decode(v)
}

// RequestOption changes a request after the Client has set its headers.
type RequestOption func(*http.Request)

// Header sets a request header, or removes it when value is empty: for
// the requests that test what the server does with a wrong or missing
// Content-Type.
func Header(key, value string) RequestOption {
	return func(r *http.Request) {
		if value == "" {
			r.Header.Del(key)
			return
		}
		r.Header.Set(key, value)
	}
}

// IdempotencyKey sends the request with an Idempotency-Key, or without
// one when key is empty, so that callers can pass a key through as is.
func IdempotencyKey(key string) RequestOption {
	return Header("Idempotency-Key", key)
}

// Send sends a request as party ("" for none) and returns the response or
// the error; it never fails the test, so that many goroutines may call it
// and a test can tell a dead server from an answer. A body that is a
// string, []byte or json.RawMessage is sent as it is, anything else but
// nil as its JSON; a request with a body says Content-Type
// application/json unless an option changes it.
func (c *Client) Send(party, method, path string, body any, opts ...RequestOption) (Response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewReader([]byte(b))
	case []byte:
		rd = bytes.NewReader(b)
	case json.RawMessage:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return Response{}, fmt.Errorf("chipgatetest: %s %s: body: %w", method, path, err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.URL+path, rd)
	if err != nil {
		return Response{}, fmt.Errorf("chipgatetest: %s %s: %w", method, path, err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if party != "" {
		req.Header.Set("Authorization", "Bearer "+c.Creds[party].Token)
	}
	for _, o := range opts {
		o(req)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return Response{}, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return Response{}, fmt.Errorf("chipgatetest: %s %s: reading the answer: %w", method, path, err)
	}
	return Response{Status: resp.StatusCode, Body: out, Header: resp.Header}, nil
}

// Do is Send for the test's own goroutine: it fails the test when the
// request gets no answer.
func (c *Client) Do(party, method, path string, body any, opts ...RequestOption) Response {
	c.TB.Helper()
	r, err := c.Send(party, method, path, body, opts...)
	if err != nil {
		c.TB.Fatal(err)
	}
	return r
}

// ReadTokens reads the demo tokens a chipgate binary wrote with
// --tokens-file, by party slug.
func ReadTokens(tb testing.TB, path string) map[string]demo.Credential {
	tb.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("chipgatetest: tokens file: %v", err)
	}
	var creds map[string]demo.Credential
	if err := json.Unmarshal(raw, &creds); err != nil {
		tb.Fatalf("chipgatetest: tokens file %s: %v", path, err)
	}
	return creds
}
