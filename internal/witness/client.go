package witness

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/chipgate/chipgate/internal/ledger"
)

// Client calls a witness's add-checkpoint over HTTP. It is safe for
// concurrent use.
type Client struct {
	url      string
	verifier note.Verifier
	hc       *http.Client
}

// NewClient returns a client of the witness whose submission prefix is url
// (add-checkpoint is url + "/add-checkpoint") and whose cosignature
// verifier key is vkey. hc nil means http.DefaultClient.
func NewClient(url, vkey string, hc *http.Client) (*Client, error) {
	v, err := ledger.NewCosignatureVerifier(vkey)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		return nil, fmt.Errorf("witness: %q is not an http(s) URL", url)
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{url: strings.TrimSuffix(url, "/"), verifier: v, hc: hc}, nil
}

// Verifier checks the witness's cosignatures.
func (c *Client) Verifier() note.Verifier { return c.verifier }

// URL is the witness's submission prefix.
func (c *Client) URL() string { return c.url }

// AddCheckpoint submits signed with the proof from oldSize and returns the
// signature lines the witness answered (checked only for their form; the
// caller verifies them). Errors: *ConflictError carrying the witness's
// latest size; *Error with the status and the witness's message.
func (c *Client) AddCheckpoint(ctx context.Context, oldSize uint64, proof []ledger.Hash, signed []byte) ([]byte, error) {
	body := Request{OldSize: oldSize, Proof: proof, Checkpoint: signed}.Marshal()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url+"/add-checkpoint", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("witness %s: %w", c.url, err)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("witness %s: %w", c.url, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, maxRequest))
	if err != nil {
		return nil, fmt.Errorf("witness %s: %w", c.url, err)
	}
	switch mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); {
	case resp.StatusCode == http.StatusOK:
		if err := signatureLines(out); err != nil {
			return nil, fmt.Errorf("witness %s: answer: %w", c.url, err)
		}
		return out, nil
	case resp.StatusCode == http.StatusConflict && mt == SizeContentType:
		s := strings.TrimSuffix(string(out), "\n")
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("witness %s: 409 with size %q", c.url, s)
		}
		return nil, &ConflictError{Size: n}
	default:
		return nil, &Error{Status: resp.StatusCode, Msg: fmt.Sprintf("%s answered %s: %s", c.url, resp.Status, strings.TrimSpace(string(out)))}
	}
}
