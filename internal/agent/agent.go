// Package agent is the device side of attested check-ins
// (docs/TELEMETRY.md): it fetches a challenge from the program, runs the
// two-step exchange with each landmark, signs the evidence with the
// device's key and submits it. `chipgate agent checkin` runs it; tests and
// the demo run it in-process, with a simulated network delay.
package agent

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/chipgate/chipgate/internal/attest"
	"github.com/chipgate/chipgate/internal/landmark"
)

// Landmark is a landmark the device pings: its name in the policy and URL.
type Landmark struct {
	Name string
	URL  string
}

// Agent checks one device in.
type Agent struct {
	// Key is the device's key (its public half recorded at the lab test).
	Key ed25519.PrivateKey
	// Serial is the device's serial.
	Serial    string
	Landmarks []Landmark
	// HTTP is the client for the landmarks and the program
	// (http.DefaultClient when nil).
	HTTP *http.Client
	// Delay, when set, is waited before echoing a landmark's ping: a
	// simulated network (the demo, tests), or a device slowing itself.
	// It can only lengthen a round trip.
	Delay func(landmark string) time.Duration
}

func (a *Agent) client() *http.Client {
	if a.HTTP != nil {
		return a.HTTP
	}
	return http.DefaultClient
}

func (a *Agent) post(ctx context.Context, url, token string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := a.client().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("agent: %s: %s: %s", url, resp.Status, strings.TrimSpace(string(b)))
	}
	return json.Unmarshal(b, out)
}

// Exchange runs the two steps with one landmark for the nonce and returns
// its receipt.
func (a *Agent) Exchange(ctx context.Context, l Landmark, nonce []byte) (attest.Receipt, error) {
	pub := a.Key.Public().(ed25519.PublicKey)
	var p attest.Ping
	base := strings.TrimSuffix(l.URL, "/")
	if err := a.post(ctx, base+"/ping", "", landmark.PingRequest{Nonce: nonce, DeviceKey: pub}, &p); err != nil {
		return attest.Receipt{}, err
	}
	if a.Delay != nil {
		if d := a.Delay(l.Name); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return attest.Receipt{}, ctx.Err()
			}
		}
	}
	var r attest.Receipt
	if err := a.post(ctx, base+"/echo", "", attest.SignEcho(a.Key, p), &r); err != nil {
		return attest.Receipt{}, err
	}
	return r, nil
}

// Gather pings every landmark at once for the nonce and signs the evidence
// over the receipts (in the landmarks' order); a landmark that fails fails
// the whole.
func (a *Agent) Gather(ctx context.Context, nonce []byte) (attest.Evidence, error) {
	receipts := make([]attest.Receipt, len(a.Landmarks))
	errs := make([]error, len(a.Landmarks))
	var wg sync.WaitGroup
	for i, l := range a.Landmarks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			receipts[i], errs[i] = a.Exchange(ctx, l, nonce)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return attest.Evidence{}, fmt.Errorf("agent: landmark %s: %w", a.Landmarks[i].Name, err)
		}
	}
	return attest.SignEvidence(a.Key, a.Serial, nonce, receipts), nil
}

// Challenge is the program's answer to POST /api/v1/checkins/challenges.
type Challenge struct {
	Serial    string    `json:"serial"`
	Nonce     []byte    `json:"nonce"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Result is the program's answer to an attested check-in: the check-in
// and the alerts it raised, as JSON.
type Result struct {
	CheckIn json.RawMessage `json:"checkin"`
	Alerts  []struct {
		Kind    string `json:"kind"`
		Reasons []struct {
			Rule    string `json:"rule"`
			Source  string `json:"source"`
			Message string `json:"message"`
		} `json:"reasons"`
	} `json:"alerts"`
}

// CheckIn fetches a challenge from the program at server (its base URL)
// with the bearer token, gathers the landmarks' receipts and submits the
// evidence; it returns the evidence and the program's answer.
func (a *Agent) CheckIn(ctx context.Context, server, token string) (attest.Evidence, Result, error) {
	server = strings.TrimSuffix(server, "/")
	var ch Challenge
	if err := a.post(ctx, server+"/api/v1/checkins/challenges", token, map[string]string{"serial": a.Serial}, &ch); err != nil {
		return attest.Evidence{}, Result{}, err
	}
	ev, err := a.Gather(ctx, ch.Nonce)
	if err != nil {
		return attest.Evidence{}, Result{}, err
	}
	res, err := a.Submit(ctx, server, token, ev)
	return ev, res, err
}

// Submit submits evidence to the program.
func (a *Agent) Submit(ctx context.Context, server, token string, ev attest.Evidence) (Result, error) {
	var res Result
	err := a.post(ctx, strings.TrimSuffix(server, "/")+"/api/v1/checkins/attested", token, map[string]any{"evidence": ev}, &res)
	return res, err
}
