package server_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/agent"
	"github.com/chipgate/chipgate/internal/attest"
	"github.com/chipgate/chipgate/internal/chipgatetest"
	"github.com/chipgate/chipgate/internal/policy"
	"github.com/chipgate/chipgate/internal/store/storetest"
	"github.com/chipgate/chipgate/policies"
)

// strangerEvidence is well-formed evidence signed by nobody the program
// knows, for the authorization matrix.
func strangerEvidence() attest.Evidence {
	_, dev, _ := ed25519.GenerateKey(rand.Reader)
	_, lm, _ := ed25519.GenerateKey(rand.Reader)
	nonce := make([]byte, attest.NonceSize)
	t0 := time.Unix(1_800_000_000, 0)
	r, _ := attest.CheckEcho(lm, "beijing", attest.SignEcho(dev, attest.SignPing(lm, "beijing", nonce, dev.Public().(ed25519.PublicKey), t0)), t0, time.Second)
	return attest.SignEvidence(dev, "GRAY-0001", nonce, []attest.Receipt{r})
}

func newDeviceKey(t *testing.T) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// resultRules maps each alert's kind to the rules its reasons cite.
func resultRules(res agent.Result) map[string][]string {
	out := map[string][]string{}
	for _, a := range res.Alerts {
		for _, r := range a.Reasons {
			out[a.Kind] = append(out[a.Kind], r.Rule)
		}
	}
	return out
}

func wantFinding(t *testing.T, what string, res agent.Result, kind, rule string) {
	t.Helper()
	for _, r := range resultRules(res)[kind] {
		if r == rule {
			return
		}
	}
	t.Fatalf("%s: want %s citing %s, got %v", what, kind, rule, resultRules(res))
}

// TestAttestedCheckIns runs the protocol end to end over loopback: three
// landmarks (Beijing, Shanghai, Singapore), a shipment delivered to
// ByteDance's Beijing site whose devices got keys at the lab test, and
// agents whose network is simulated from where the device is. An honest
// device is plausible; a replayed nonce, a forged landmark signature, a
// wrong device key, a device moved to Singapore, one that adds delay to
// look closer, and one key in two places each raise their finding, naming
// its rule.
// attestFixture is a shipment of n units delivered to ByteDance's Beijing
// site, each device given a key at the lab test, under a policy that knows
// the loopback landmarks' keys.
type attestFixture struct {
	e       *env
	lms     []agent.Landmark
	rules   policy.Rules
	id      string
	serials []string
	keys    []ed25519.PrivateKey
}

func newAttestFixture(t *testing.T, n int, keyed int) attestFixture {
	e := newEnv(t, storetest.Backends()[0])
	lms, lmKeys := chipgatetest.Landmarks(t, "beijing", "shanghai", "singapore")
	// confine_km 2000 rather than 500: a test machine busy enough stretches
	// a loopback round trip by milliseconds (it can only ever slow a
	// device); the moved and slowed devices are thousands of km off.
	src := bytes.Replace(chipgatetest.PolicyFileWithLandmarkKeys(t, lmKeys), []byte("confine_km: 500"), []byte("confine_km: 2000"), 1)
	pol, err := policy.Load("attest.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	e.svc.SetPolicy(pol)
	f := attestFixture{e: e, lms: lms, rules: pol.At(e.clock.Now())}

	body := applicationBody("Beijing ByteDance Technology Co., Ltd.", "CN", "platform")
	body["sites"] = []map[string]any{{"address": "1 Data Center Road, Beijing", "country": "CN", "power_mw": 200, "cloud_service": true, "lat": 39.9042, "lon": 116.4074}}
	e.apply("us-cloud-a")
	e.must("us-cloud-a", "POST", "/api/v1/orders", map[string]any{"product": "h200", "quantity": 100000, "requested_period": "2026-03-02", "end_use": "commercial_ai"}, 201)
	app := e.must("bytedance", "POST", "/api/v1/applications", body, 201)["id"].(string)
	e.approve(app, 1000)
	e.permit("bytedance", 1000)
	// The CN+MO cap: Chinese exports at most half the units exported to US
	// end users.
	us := e.shipmentOf("us-cloud-a", max(10, 2*n), 100)
	for _, ev := range [][2]string{{"picked_up", "TW"}, {"arrived", "US"}, {"customs_cleared", "US"}, {"delivered", "US"}} {
		e.event(us, ev[0], ev[1])
	}
	f.id = e.shipmentOf("bytedance", n, 100)
	e.event(f.id, "picked_up", "TW")
	e.event(f.id, "arrived", "US")
	sh := e.event(f.id, "customs_cleared", "US")
	for _, s := range sh["serials"].([]any) {
		f.serials = append(f.serials, s.(string))
	}
	test := map[string]any{"throughput": []map[string]any{{"bits": 8, "dense_tops": 1979}}, "bandwidth_gbps": 4800}
	if len(f.serials) > 2 {
		// A key is one device's: the lab cannot give two serials one key,
		// and the refused test records nothing.
		k := newDeviceKey(t)
		test["device_keys"] = map[string]string{f.serials[0]: pubText(k), f.serials[2]: pubText(k)}
		if status, raw, _ := e.do("us-testlab", "POST", "/api/v1/shipments/"+f.id+"/lab-tests", test); status != http.StatusConflict {
			t.Fatalf("one key for two serials: %d %s", status, raw)
		}
	}
	dk := map[string]string{}
	for _, s := range f.serials[:keyed] {
		k := newDeviceKey(t)
		f.keys = append(f.keys, k)
		dk[s] = pubText(k)
	}
	test["device_keys"] = dk
	e.must("us-testlab", "POST", "/api/v1/shipments/"+f.id+"/lab-tests", test, 200)
	for _, ev := range [][2]string{{"export_cleared", "US"}, {"picked_up", "US"}, {"arrived", "CN"}, {"customs_cleared", "CN"}, {"delivered", "CN"}} {
		e.event(f.id, ev[0], ev[1])
	}
	return f
}

func pubText(k ed25519.PrivateKey) string { return attest.EncodeKey(k.Public().(ed25519.PublicKey)) }

func TestAttestedCheckIns(t *testing.T) {
	f := newAttestFixture(t, 3, 2)
	e, lms, rules := f.e, f.lms, f.rules
	s0, s1, s2 := f.serials[0], f.serials[1], f.serials[2]
	k0, k1 := f.keys[0], f.keys[1]
	token := e.creds["bytedance"].Token
	beijing, singapore := chipgatetest.DelayFrom(rules, 39.9042, 116.4074), chipgatetest.DelayFrom(rules, 1.3521, 103.8198)
	device := func(serial string, key ed25519.PrivateKey, delay func(string) time.Duration) *agent.Agent {
		return &agent.Agent{Key: key, Serial: serial, Landmarks: lms, Delay: delay}
	}
	ctx := t.Context()

	// honestly checks s0 in from Beijing: plausible, though a machine busy
	// enough (-race, neighbours) may stretch a loopback round trip past the
	// bound — a device can be slowed, never sped up — so an honest device
	// gets three tries, as a real one would retry later.
	honestly := func(what string) attest.Evidence {
		t.Helper()
		var res agent.Result
		for range 3 {
			ev, r, err := device(s0, k0, beijing).CheckIn(ctx, e.url, token)
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if len(r.Alerts) == 0 {
				return ev
			}
			res = r
		}
		t.Fatalf("%s: three honest check-ins from Beijing raised %v", what, resultRules(res))
		return attest.Evidence{}
	}
	honest := honestly("honest device in Beijing")

	t.Run("ReplayedNonce", func(t *testing.T) {
		res, err := device(s0, k0, beijing).Submit(ctx, e.url, token, honest)
		if err != nil {
			t.Fatal(err)
		}
		wantFinding(t, "replayed evidence", res, "replayed_nonce", "telemetry.attestation")
	})
	t.Run("ForgedLandmarkSignature", func(t *testing.T) {
		// A "beijing" that is not the policy's Beijing: answers fast, signs
		// with its own key.
		fake, _ := chipgatetest.Landmarks(t, "beijing")
		a := device(s0, k0, beijing)
		a.Landmarks = append([]agent.Landmark{fake[0]}, lms[1:]...)
		_, res, err := a.CheckIn(ctx, e.url, token)
		if err != nil {
			t.Fatal(err)
		}
		wantFinding(t, "forged Beijing", res, "forged_landmark", "telemetry.attestation")
		// Without Beijing's round trip nothing confines the device near its site.
		wantFinding(t, "forged Beijing", res, "too_far_from_site", "telemetry.attestation")
	})
	t.Run("WrongDeviceKey", func(t *testing.T) {
		_, res, err := device(s1, newDeviceKey(t), beijing).CheckIn(ctx, e.url, token)
		if err != nil {
			t.Fatal(err)
		}
		wantFinding(t, "label moved to another box", res, "unknown_device_key", "telemetry.attestation")
		_, res, err = device(s2, newDeviceKey(t), beijing).CheckIn(ctx, e.url, token)
		if err != nil {
			t.Fatal(err)
		}
		wantFinding(t, "a serial without a key", res, "unknown_device_key", "telemetry.attestation")
	})
	t.Run("MovedDevice", func(t *testing.T) {
		_, res, err := device(s1, k1, singapore).CheckIn(ctx, e.url, token)
		if err != nil {
			t.Fatal(err)
		}
		wantFinding(t, "device in Singapore", res, "too_far_from_site", "telemetry.geolocation")
	})
	t.Run("DelayAddedToLookCloser", func(t *testing.T) {
		// In Singapore, the device slows its answer to Singapore's landmark
		// to hide how near it is; nothing it can do shortens Beijing's.
		slowed := func(name string) time.Duration {
			d := singapore(name)
			if name == "singapore" {
				d += 80 * time.Millisecond
			}
			return d
		}
		_, res, err := device(s1, k1, slowed).CheckIn(ctx, e.url, token)
		if err != nil {
			t.Fatal(err)
		}
		wantFinding(t, "slowed device", res, "too_far_from_site", "telemetry.attestation")
	})
	t.Run("SameKeyInTwoPlaces", func(t *testing.T) {
		// s0's key copied into a box in Singapore, minutes after s0
		// checked in from Beijing.
		honestly("honest again")
		e.clock.Add(10 * time.Minute)
		_, res, err := device(s0, k0, singapore).CheckIn(ctx, e.url, token)
		if err != nil {
			t.Fatal(err)
		}
		wantFinding(t, "clone in Singapore", res, "same_key_two_places", "telemetry.attestation")
	})
	t.Run("AnotherBuyersSerial", func(t *testing.T) {
		status, raw, _ := e.do("alibaba", "POST", "/api/v1/checkins/challenges", map[string]any{"serial": s0})
		if status != http.StatusNotFound {
			t.Fatalf("a competitor's challenge: %d %s", status, raw)
		}
	})
}

// TestAttestedCheckInLoad is the capacity figure of docs/BENCHMARKS.md, run
// only when CHIPGATE_ATTEST_LOAD gives the number of check-ins: 200 keyed
// devices in Beijing check in over and over through the real HTTP API on
// SQLite (challenge, three loopback landmarks, evidence), 32 at a time.
// It reports check-ins per second, the process's CPU per check-in (server,
// landmarks and agents together: one machine plays all parts) and the
// database's growth per check-in.
func TestAttestedCheckInLoad(t *testing.T) {
	total, _ := strconv.Atoi(os.Getenv("CHIPGATE_ATTEST_LOAD"))
	if total <= 0 {
		t.Skip("CHIPGATE_ATTEST_LOAD=<check-ins> runs it")
	}
	f := newAttestFixture(t, 200, 200)
	token := f.e.creds["bytedance"].Token
	beijing := chipgatetest.DelayFrom(f.rules, 39.9042, 116.4074)
	size := func() int64 {
		var n int64
		for _, suffix := range []string{"", "-wal"} {
			if fi, err := os.Stat(f.e.kit.DSN + suffix); err == nil {
				n += fi.Size()
			}
		}
		return n
	}
	size0, cpu0, start := size(), cpuTime(), time.Now()
	var next, alerts atomic.Int64
	var mu sync.Mutex
	kinds := map[string]int{}
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(total) {
					return
				}
				d := i % int64(len(f.serials))
				a := &agent.Agent{Key: f.keys[d], Serial: f.serials[d], Landmarks: f.lms, Delay: beijing}
				_, res, err := a.CheckIn(t.Context(), f.e.url, token)
				if err != nil {
					errs <- err
					return
				}
				alerts.Add(int64(len(res.Alerts)))
				mu.Lock()
				for _, a := range res.Alerts {
					kinds[a.Kind]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	wall, cpu := time.Since(start), cpuTime()-cpu0
	t.Logf("%d attested check-ins in %v: %.0f/s; CPU %.2f ms per check-in (server, 3 landmarks and the agent together); database +%.1f KB per check-in; %d alerts %v",
		total, wall.Round(time.Millisecond), float64(total)/wall.Seconds(), float64(cpu.Microseconds())/1000/float64(total), float64(size()-size0)/1024/float64(total), alerts.Load(), kinds)
	// Honest devices raise alerts only when the machine is so busy that
	// its own scheduling stretches a round trip past confine_km's bound
	// (too_far_from_site): slowed, never sped up.
	for k := range kinds {
		if k != "too_far_from_site" {
			t.Fatalf("honest devices raised %v", kinds)
		}
	}
}

// TestSelfReportedCheckInRefusedByPolicy: under a policy whose attestation
// rule no longer accepts self-reported check-ins, POST /api/v1/checkins is
// 403 naming the rule, and nothing is written.
func TestSelfReportedCheckInRefusedByPolicy(t *testing.T) {
	e := newEnv(t, storetest.Backends()[0])
	src := bytes.Replace(policies.Default, []byte("self_reported: true"), []byte("self_reported: false"), 1)
	pol, err := policy.Load("attested-only.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	e.svc.SetPolicy(pol)
	before := chipgatetest.AuditSize(t, e.st)
	status, raw, _ := e.do("nvidia", "POST", "/api/v1/checkins", map[string]any{"serial": "GRAY-0001", "site": 0, "country": "CN"})
	if status != http.StatusForbidden || !bytes.Contains(raw, []byte("telemetry.attestation")) {
		t.Fatalf("self-reported check-in under an attested-only policy: %d %s", status, raw)
	}
	if after := chipgatetest.AuditSize(t, e.st); after != before {
		t.Fatalf("a refused check-in wrote %d records", after-before)
	}
}
