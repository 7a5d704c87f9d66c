// Package landmark is a timing server at known coordinates for attested
// check-ins (docs/TELEMETRY.md): it answers a device's nonce with a Ping it
// signs and, when the device echoes it back signed with its key, times the
// round trip and signs a Receipt. It keeps no state between the two steps:
// the Ping carries everything, under its own signature.
package landmark

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/chipgate/chipgate/internal/attest"
)

// Server is one landmark.
type Server struct {
	// Name is the landmark's name in the program's policy.
	Name string
	// Key signs its pings and receipts; its public half is in the policy.
	Key ed25519.PrivateKey
	// Now is the landmark's clock (time.Now when nil); only differences of
	// its readings are signed as round trips.
	Now func() time.Time
	// MaxRTT refuses echoes slower than this (10 s when zero): a round
	// trip that long bounds nothing.
	MaxRTT time.Duration
}

// PingRequest is a device's first message: the program's nonce and its
// public key.
type PingRequest struct {
	Nonce     []byte `json:"nonce"`
	DeviceKey []byte `json:"device_key"`
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Handler serves POST /ping (a PingRequest, answered with an attest.Ping)
// and POST /echo (an attest.Echo, answered with an attest.Receipt).
func (s *Server) Handler() http.Handler {
	maxRTT := s.MaxRTT
	if maxRTT == 0 {
		maxRTT = 10 * time.Second
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /ping", func(w http.ResponseWriter, r *http.Request) {
		var in PingRequest
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&in); err != nil || len(in.Nonce) != attest.NonceSize || len(in.DeviceKey) != ed25519.PublicKeySize {
			http.Error(w, "a nonce of 32 bytes and an Ed25519 device key", http.StatusBadRequest)
			return
		}
		writeJSON(w, attest.SignPing(s.Key, s.Name, in.Nonce, in.DeviceKey, s.now()))
	})
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		var in attest.Echo
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 8192)).Decode(&in); err != nil {
			http.Error(w, "an echo", http.StatusBadRequest)
			return
		}
		// The instant the echo arrived is read before anything is checked:
		// checking only ever lengthens the round trip it ends.
		received := s.now()
		rc, err := attest.CheckEcho(s.Key, s.Name, in, received, maxRTT)
		switch {
		case errors.Is(err, attest.ErrLateEcho):
			http.Error(w, err.Error(), http.StatusRequestTimeout)
			return
		case err != nil:
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		writeJSON(w, rc)
	})
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
