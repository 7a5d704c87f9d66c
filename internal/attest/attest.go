package attest

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Version is the evidence format this package writes and reads.
const Version = "chipgate-checkin/v1"

// The contexts that start every signed message: a signature over one kind
// of message is never valid as another.
const (
	pingContext     = "chipgate/landmark-ping/v1"
	echoContext     = "chipgate/device-echo/v1"
	receiptContext  = "chipgate/landmark-receipt/v1"
	evidenceContext = "chipgate/checkin-evidence/v1"
)

// NonceSize is the size of a challenge nonce in bytes.
const NonceSize = 32

// Ping is a landmark's signed answer to a device's nonce: the instant it
// was sent, by the landmark's clock, in Unix nanoseconds.
type Ping struct {
	Landmark  string `json:"landmark"`
	Nonce     []byte `json:"nonce"`
	DeviceKey []byte `json:"device_key"`
	SentNS    int64  `json:"sent_ns"`
	Sig       []byte `json:"sig"`
}

// Echo is the device's signature over a Ping, sent back at once.
type Echo struct {
	Ping Ping   `json:"ping"`
	Sig  []byte `json:"sig"`
}

// Receipt is a landmark's signed statement that the holder of DeviceKey
// echoed its Ping for Nonce, ReceivedNS-SentNS nanoseconds after it sent it.
type Receipt struct {
	Landmark   string `json:"landmark"`
	Nonce      []byte `json:"nonce"`
	DeviceKey  []byte `json:"device_key"`
	SentNS     int64  `json:"sent_ns"`
	ReceivedNS int64  `json:"received_ns"`
	Sig        []byte `json:"sig"`
}

// RTT is the round trip the landmark timed.
func (r Receipt) RTT() time.Duration { return time.Duration(r.ReceivedNS - r.SentNS) }

// RTTMS is the round trip in milliseconds.
func (r Receipt) RTTMS() float64 { return float64(r.ReceivedNS-r.SentNS) / 1e6 }

// Evidence is what a device submits for one check-in: its serial, the
// program's nonce, its public key, the landmarks' receipts, and its
// signature over all of them.
type Evidence struct {
	Version   string    `json:"version"`
	Serial    string    `json:"serial"`
	Nonce     []byte    `json:"nonce"`
	DeviceKey []byte    `json:"device_key"`
	Receipts  []Receipt `json:"receipts"`
	Sig       []byte    `json:"sig"`
}

// msg builds a signed message: the context, then each field length-prefixed.
func msg(context string, fields ...[]byte) []byte {
	n := len(context)
	for _, f := range fields {
		n += 4 + len(f)
	}
	b := make([]byte, 0, n)
	b = append(b, context...)
	for _, f := range fields {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	return b
}

func i64(v int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }

func (p Ping) message() []byte {
	return msg(pingContext, []byte(p.Landmark), p.Nonce, p.DeviceKey, i64(p.SentNS))
}

func echoMessage(p Ping) []byte { return msg(echoContext, p.Sig) }

func (r Receipt) message() []byte {
	return msg(receiptContext, []byte(r.Landmark), r.Nonce, r.DeviceKey, i64(r.SentNS), i64(r.ReceivedNS))
}

func (e Evidence) message() []byte {
	fields := [][]byte{[]byte(e.Version), []byte(e.Serial), e.Nonce, e.DeviceKey}
	for _, r := range e.Receipts {
		fields = append(fields, r.Sig)
	}
	return msg(evidenceContext, fields...)
}

// SignPing is the landmark's first step: its answer to a device's nonce,
// sent at sent.
func SignPing(key ed25519.PrivateKey, landmark string, nonce, deviceKey []byte, sent time.Time) Ping {
	p := Ping{Landmark: landmark, Nonce: nonce, DeviceKey: deviceKey, SentNS: sent.UnixNano()}
	p.Sig = ed25519.Sign(key, p.message())
	return p
}

// SignEcho is the device's answer to a Ping.
func SignEcho(key ed25519.PrivateKey, p Ping) Echo {
	return Echo{Ping: p, Sig: ed25519.Sign(key, echoMessage(p))}
}

// Errors of CheckEcho.
var (
	ErrNotOurPing  = errors.New("attest: the ping is not this landmark's")
	ErrBadEcho     = errors.New("attest: the echo is not the device key's signature")
	ErrLateEcho    = errors.New("attest: the echo came back too late")
	ErrMalformed   = errors.New("attest: malformed message")
	ErrUnknownKey  = errors.New("attest: no public key for this landmark")
	ErrBadEvidence = errors.New("attest: the evidence is not the device key's signature")
)

// CheckEcho is the landmark's second step: it checks that the Ping is its
// own and the Echo the device key's signature, and that it came back within
// maxRTT, and returns the Receipt for an echo received at received.
func CheckEcho(key ed25519.PrivateKey, landmark string, e Echo, received time.Time, maxRTT time.Duration) (Receipt, error) {
	p := e.Ping
	if p.Landmark != landmark || len(p.Nonce) != NonceSize || len(p.DeviceKey) != ed25519.PublicKeySize {
		return Receipt{}, ErrMalformed
	}
	if !ed25519.Verify(key.Public().(ed25519.PublicKey), p.message(), p.Sig) {
		return Receipt{}, ErrNotOurPing
	}
	if !ed25519.Verify(ed25519.PublicKey(p.DeviceKey), echoMessage(p), e.Sig) {
		return Receipt{}, ErrBadEcho
	}
	r := Receipt{Landmark: landmark, Nonce: p.Nonce, DeviceKey: p.DeviceKey, SentNS: p.SentNS, ReceivedNS: received.UnixNano()}
	if rtt := r.RTT(); rtt < 0 || rtt > maxRTT {
		return Receipt{}, ErrLateEcho
	}
	r.Sig = ed25519.Sign(key, r.message())
	return r, nil
}

// SignEvidence is the device's last step: it signs its serial, the nonce and
// the receipts it gathered.
func SignEvidence(key ed25519.PrivateKey, serial string, nonce []byte, receipts []Receipt) Evidence {
	e := Evidence{Version: Version, Serial: serial, Nonce: nonce, DeviceKey: key.Public().(ed25519.PublicKey), Receipts: receipts}
	e.Sig = ed25519.Sign(key, e.message())
	return e
}

// ReceiptCheck is what Verify found about one receipt: its round trip and,
// when it cannot be used, why (Problem empty when valid).
type ReceiptCheck struct {
	Landmark string  `json:"landmark"`
	RTTMS    float64 `json:"rtt_ms"`
	Valid    bool    `json:"valid"`
	Problem  string  `json:"problem,omitempty"`
}

// Result is what Verify found: whether the device key signed the evidence,
// and each receipt's check. Verify decides nothing: the policy does
// (policy.Rules.AssessAttestedCheckIn).
type Result struct {
	DeviceSignatureValid bool           `json:"device_signature_valid"`
	Receipts             []ReceiptCheck `json:"receipts"`
}

// LandmarkKeys returns a landmark's public key, if it is known.
type LandmarkKeys func(name string) (ed25519.PublicKey, bool)

// Verify checks the evidence's signatures: the device's over the whole,
// with the key the evidence carries (the caller compares it with the key
// the lab recorded), and each receipt's with its landmark's key, for this
// nonce and this device key. It needs public keys only.
func Verify(e Evidence, landmarks LandmarkKeys) Result {
	var out Result
	out.DeviceSignatureValid = e.Version == Version && len(e.DeviceKey) == ed25519.PublicKeySize &&
		ed25519.Verify(ed25519.PublicKey(e.DeviceKey), e.message(), e.Sig)
	out.Receipts = make([]ReceiptCheck, len(e.Receipts))
	for i, r := range e.Receipts {
		c := ReceiptCheck{Landmark: r.Landmark, RTTMS: r.RTTMS()}
		key, ok := landmarks(r.Landmark)
		switch {
		case !ok:
			c.Problem = "no public key for landmark " + r.Landmark
		case string(r.Nonce) != string(e.Nonce):
			c.Problem = "the receipt is for another nonce"
		case string(r.DeviceKey) != string(e.DeviceKey):
			c.Problem = "the receipt is for another device key"
		case r.ReceivedNS < r.SentNS:
			c.Problem = "the receipt's round trip is negative"
		case !ed25519.Verify(key, r.message(), r.Sig):
			c.Problem = "the receipt's signature is not " + r.Landmark + "'s"
		default:
			c.Valid = true
		}
		out.Receipts[i] = c
	}
	return out
}

// EncodeKey is the text form of a public key: standard base64.
func EncodeKey(k ed25519.PublicKey) string { return base64.StdEncoding.EncodeToString(k) }

// ParseKey reads a public key's text form.
func ParseKey(s string) (ed25519.PublicKey, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("attest: a public key is %d bytes in base64", ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(b), nil
}

// EncodePrivateKey is the text form of a private key: its 32-byte seed in
// standard base64, as key files hold it.
func EncodePrivateKey(k ed25519.PrivateKey) string {
	return base64.StdEncoding.EncodeToString(k.Seed())
}

// ParsePrivateKey reads a private key's text form.
func ParsePrivateKey(s string) (ed25519.PrivateKey, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != ed25519.SeedSize {
		return nil, fmt.Errorf("attest: a private key is a %d-byte seed in base64", ed25519.SeedSize)
	}
	return ed25519.NewKeyFromSeed(b), nil
}
