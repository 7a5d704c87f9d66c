package attest_test

import (
	"crypto/ed25519"
	"fmt"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/attest"
	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/policy"
	"github.com/chipgate/chipgate/policies"
)

// BenchmarkVerifyCheckIn is the program's CPU per attested check-in: the
// device's signature and each landmark's receipt checked (attest.Verify),
// then the policy's assessment (Rules.AssessAttestedCheckIn) of a plausible
// check-in from Beijing — with 1 and 3 landmarks (1 + n Ed25519
// verifications). Run with -cpu 1 for the one-core figure.
func BenchmarkVerifyCheckIn(b *testing.B) {
	pol, err := policy.Load("default.yaml", policies.Default)
	if err != nil {
		b.Fatal(err)
	}
	at := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	rules := pol.At(at)
	names := []string{"beijing", "shanghai", "hangzhou"}
	lmKeys := map[string]ed25519.PrivateKey{}
	for _, n := range names {
		lmKeys[n] = key(b)
	}
	keys := func(name string) (ed25519.PublicKey, bool) {
		k, ok := lmKeys[name]
		if !ok {
			return nil, false
		}
		return k.Public().(ed25519.PublicKey), true
	}
	lat, lon := 39.9042, 116.4074
	for _, n := range []int{1, 3} {
		b.Run(fmt.Sprintf("landmarks=%d", n), func(b *testing.B) {
			dev := key(b)
			nonce := make([]byte, attest.NonceSize)
			var receipts []attest.Receipt
			for i, name := range names[:n] {
				receipts = append(receipts, exchange(b, lmKeys[name], dev, name, nonce, time.Duration(1+10*i)*time.Millisecond))
			}
			ev := attest.SignEvidence(dev, "SN-1", nonce, receipts)
			devKey := attest.EncodeKey(dev.Public().(ed25519.PublicKey))
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				res := attest.Verify(ev, keys)
				f := policy.AttestedCheckInFacts{At: at, Serial: ev.Serial, Shipped: true, Delivered: true, SiteLat: &lat, SiteLon: &lon,
					RegisteredKey: devKey, EvidenceKey: devKey, DeviceSignatureValid: res.DeviceSignatureValid,
					Challenge: policy.ChallengeState{Known: true, Serial: "SN-1", IssuedAt: at, ExpiresAt: at.Add(time.Minute)}}
				for _, r := range res.Receipts {
					f.Timings = append(f.Timings, domain.LandmarkTiming(r))
				}
				if fs := rules.AssessAttestedCheckIn(f); len(fs) != 0 {
					b.Fatalf("not plausible: %v", fs)
				}
			}
			b.StopTimer()
			// CPU time, not wall time: on a shared machine the neighbours
			// stretch the wall clock, not the work.
			if cpu := cpuTime() - cpu0; cpu > 0 {
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
				b.ReportMetric(float64(b.N)/cpu.Seconds(), "checkins/cpu-s")
			}
		})
	}
}

// BenchmarkEd25519Verify is one signature check, the unit the check-in's
// cost is made of.
func BenchmarkEd25519Verify(b *testing.B) {
	k := key(b)
	msg := []byte("chipgate/checkin-evidence/v1 a message of about a hundred bytes, like the evidence's")
	sig := ed25519.Sign(k, msg)
	pub := k.Public().(ed25519.PublicKey)
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("bad")
		}
	}
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}
