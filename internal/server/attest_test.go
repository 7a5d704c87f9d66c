package server_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/agent"
	"github.com/chipgate/chipgate/internal/attest"
	"github.com/chipgate/chipgate/internal/chipgatetest"
	"github.com/chipgate/chipgate/internal/store/storetest"
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
func TestAttestedCheckIns(t *testing.T) {
	e := newEnv(t, storetest.Backends()[0])
	lms, lmKeys := chipgatetest.Landmarks(t, "beijing", "shanghai", "singapore")
	pol := chipgatetest.PolicyWithLandmarkKeys(t, lmKeys)
	e.svc.SetPolicy(pol)
	rules := pol.At(e.clock.Now())

	body := applicationBody("Beijing ByteDance Technology Co., Ltd.", "CN", "platform")
	body["sites"] = []map[string]any{{"address": "1 Data Center Road, Beijing", "country": "CN", "power_mw": 200, "cloud_service": true, "lat": 39.9042, "lon": 116.4074}}
	e.apply("us-cloud-a")
	e.must("us-cloud-a", "POST", "/api/v1/orders", map[string]any{"product": "h200", "quantity": 100000, "requested_period": "2026-03-02", "end_use": "commercial_ai"}, 201)
	app := e.must("bytedance", "POST", "/api/v1/applications", body, 201)["id"].(string)
	e.approve(app, 1000)
	e.permit("bytedance", 1000)
	us := e.shipmentOf("us-cloud-a", 10, 100)
	for _, ev := range [][2]string{{"picked_up", "TW"}, {"arrived", "US"}, {"customs_cleared", "US"}, {"delivered", "US"}} {
		e.event(us, ev[0], ev[1])
	}
	id := e.shipmentOf("bytedance", 3, 100)
	e.event(id, "picked_up", "TW")
	e.event(id, "arrived", "US")
	sh := e.event(id, "customs_cleared", "US")
	sn := sh["serials"].([]any)
	s0, s1, s2 := sn[0].(string), sn[1].(string), sn[2].(string)
	k0, k1 := newDeviceKey(t), newDeviceKey(t)
	pub := func(k ed25519.PrivateKey) string { return attest.EncodeKey(k.Public().(ed25519.PublicKey)) }
	// A key is one device's: the lab cannot give s2 the key of s0, and
	// the refused test records nothing.
	test := map[string]any{"throughput": []map[string]any{{"bits": 8, "dense_tops": 1979}}, "bandwidth_gbps": 4800}
	test["device_keys"] = map[string]string{s0: pub(k0), s2: pub(k0)}
	if status, raw, _ := e.do("us-testlab", "POST", "/api/v1/shipments/"+id+"/lab-tests", test); status != http.StatusConflict {
		t.Fatalf("one key for two serials: %d %s", status, raw)
	}
	e.must("us-testlab", "POST", "/api/v1/shipments/"+id+"/lab-tests", map[string]any{"throughput": []map[string]any{{"bits": 8, "dense_tops": 1979}}, "bandwidth_gbps": 4800,
		"device_keys": map[string]string{s0: pub(k0), s1: pub(k1)}}, 200)
	for _, ev := range [][2]string{{"export_cleared", "US"}, {"picked_up", "US"}, {"arrived", "CN"}, {"customs_cleared", "CN"}, {"delivered", "CN"}} {
		e.event(id, ev[0], ev[1])
	}
	token := e.creds["bytedance"].Token
	beijing, singapore := chipgatetest.DelayFrom(rules, 39.9042, 116.4074), chipgatetest.DelayFrom(rules, 1.3521, 103.8198)
	device := func(serial string, key ed25519.PrivateKey, delay func(string) time.Duration) *agent.Agent {
		return &agent.Agent{Key: key, Serial: serial, Landmarks: lms, Delay: delay}
	}
	ctx := t.Context()

	honest, res, err := device(s0, k0, beijing).CheckIn(ctx, e.url, token)
	if err != nil || len(res.Alerts) != 0 {
		t.Fatalf("honest device in Beijing: %v %v", err, resultRules(res))
	}

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
		_, res, err := device(s0, k0, beijing).CheckIn(ctx, e.url, token)
		if err != nil || len(res.Alerts) != 0 {
			t.Fatalf("honest again: %v %v", err, resultRules(res))
		}
		e.clock.Add(10 * time.Minute)
		_, res, err = device(s0, k0, singapore).CheckIn(ctx, e.url, token)
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
