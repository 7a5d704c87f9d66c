package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// SecretPrefix starts a secret's text form, as Standard Webhooks has it.
const SecretPrefix = "whsec_"

// Secret derives a subscription's signing secret from the server's key and
// the subscription's id: HMAC-SHA256(key, "chipgate webhook secret\x00" +
// id). The database keeps no secret, so a copy of it forges nothing; the
// server shows the secret once, when the subscription is made, and can
// sign with it again after any restart.
func Secret(key []byte, subscription string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("chipgate webhook secret\x00"))
	m.Write([]byte(subscription))
	return m.Sum(nil)
}

// FormatSecret returns the secret's text form: "whsec_" + base64.
func FormatSecret(secret []byte) string {
	return SecretPrefix + base64.StdEncoding.EncodeToString(secret)
}

// ParseSecret reverses FormatSecret.
func ParseSecret(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, SecretPrefix))
	if err != nil {
		return nil, errors.New("webhook: the secret is not whsec_ + base64")
	}
	return b, nil
}

// Sign returns the webhook-signature header of a message: "v1," +
// base64(HMAC-SHA256(secret, id + "." + timestamp + "." + body)), the
// timestamp in Unix seconds.
func Sign(secret []byte, id string, at time.Time, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(id + "." + strconv.FormatInt(at.Unix(), 10) + "."))
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Verify checks a delivery as a receiver does: the webhook-timestamp
// header within tolerance of now (against replays), and one of the
// space-separated signatures of webhook-signature matching, compared in
// constant time.
func Verify(secret []byte, id, timestamp, signatures string, body []byte, now time.Time, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return errors.New("webhook: bad webhook-timestamp")
	}
	at := time.Unix(ts, 0)
	if d := now.Sub(at); d > tolerance || d < -tolerance {
		return errors.New("webhook: webhook-timestamp too far from now")
	}
	want := Sign(secret, id, at, body)
	for _, sig := range strings.Fields(signatures) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return nil
		}
	}
	return errors.New("webhook: no signature matches")
}

// Backoff returns how long to wait before attempt failures+1, after
// failures failed ones (from 1): base·2^(failures−1), at most max, of
// which a random half is taken off ("equal jitter") so that receivers
// coming back do not get every retry at once. u is a uniform random
// number in [0, 1).
func Backoff(failures int, base, max time.Duration, u float64) time.Duration {
	if failures < 1 {
		return 0
	}
	d := float64(base) * math.Pow(2, float64(failures-1))
	if d > float64(max) || math.IsInf(d, 0) {
		d = float64(max)
	}
	return time.Duration(d/2 + d/2*u)
}

// Jitter is a uniform random number in [0, 1) for Backoff.
func Jitter() float64 { return rand.Float64() }
