// Package throttle bounds how often a caller may do something: a token
// bucket per key (a user for requests, a client address for failed
// sign-ins). It is safe for concurrent use and forgets idle keys.
package throttle

import (
	"math"
	"sync"
	"time"
)

// Bucket gives each key Rate events a second on average and Burst at once.
type Bucket struct {
	Rate, Burst float64
	mu          sync.Mutex
	keys        map[string]*bucket
	lastSweep   time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

// New returns a bucket of rate events a second and burst at once.
func New(rate float64, burst int) *Bucket {
	return &Bucket{Rate: rate, Burst: float64(burst), keys: map[string]*bucket{}}
}

// Take takes one event from key's bucket at now; when the bucket is empty
// it takes nothing and returns false and how long until an event would be
// allowed.
func (l *Bucket) Take(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.fill(key, now)
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, l.wait(b)
}

// Empty reports whether key's bucket is empty at now, taking nothing, and
// how long until it holds an event again.
func (l *Bucket) Empty(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.fill(key, now)
	if b.tokens >= 1 {
		return false, 0
	}
	return true, l.wait(b)
}

func (l *Bucket) wait(b *bucket) time.Duration {
	return time.Duration((1 - b.tokens) / l.Rate * float64(time.Second))
}

// fill returns key's bucket refilled to now. The caller holds mu.
func (l *Bucket) fill(key string, now time.Time) *bucket {
	if now.Sub(l.lastSweep) > time.Minute { // forget keys whose buckets are full again
		for k, b := range l.keys {
			if now.Sub(b.at).Seconds()*l.Rate > l.Burst {
				delete(l.keys, k)
			}
		}
		l.lastSweep = now
	}
	b, ok := l.keys[key]
	if !ok {
		b = &bucket{tokens: l.Burst, at: now}
		l.keys[key] = b
	}
	b.tokens = math.Min(l.Burst, b.tokens+now.Sub(b.at).Seconds()*l.Rate)
	b.at = now
	return b
}

// Failed authentications (a bad API token, a failed dashboard sign-in) are
// throttled per client address: FailedAuthBurst at once, then one every
// FailedAuthEvery. Past that the address is refused before its credential
// is even looked at, so guessing tokens is slow whatever the rate limit.
const (
	FailedAuthBurst = 10
	FailedAuthEvery = 6 * time.Second
)

// FailedAuth returns the bucket of failed authentications per address,
// burst at once (FailedAuthBurst when 0); nil, for no throttle, when burst
// is negative.
func FailedAuth(burst int) *Bucket {
	if burst < 0 {
		return nil
	}
	if burst == 0 {
		burst = FailedAuthBurst
	}
	return New(1/FailedAuthEvery.Seconds(), burst)
}
