package webhook_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/webhook"
)

// TestSignStandardWebhooks checks the signature against the Standard
// Webhooks specification's own example (its reference libraries' test
// vector), so that any receiver's library verifies ours.
func TestSignStandardWebhooks(t *testing.T) {
	secret, err := webhook.ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"test": 2432232314}`)
	got := webhook.Sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), body)
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	now := time.Unix(1614265330, 0).Add(time.Minute)
	if err := webhook.Verify(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", "v1,bogus "+got, body, now, 5*time.Minute); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	for name, tc := range map[string]struct {
		id, ts string
		body   string
		now    time.Time
	}{
		"OtherBody":  {"msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", `{"test": 2432232315}`, now},
		"OtherID":    {"msg_other", "1614265330", string(body), now},
		"OtherTime":  {"msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265331", string(body), now},
		"TooOld":     {"msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", string(body), now.Add(time.Hour)},
		"BadStamp":   {"msg_p5jXN8AQM9LWM0D4loKWxJek", "soon", string(body), now},
		"FromFuture": {"msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", string(body), now.Add(-time.Hour)},
	} {
		t.Run(name, func(t *testing.T) {
			if err := webhook.Verify(secret, tc.id, tc.ts, got, []byte(tc.body), tc.now, 5*time.Minute); err == nil {
				t.Fatal("Verify accepted a tampered delivery")
			}
		})
	}
}

func TestSecretDerived(t *testing.T) {
	a := webhook.Secret([]byte("server key"), "sub-1")
	if b := webhook.Secret([]byte("server key"), "sub-1"); string(a) != string(b) {
		t.Fatal("the same key and subscription derive different secrets")
	}
	if b := webhook.Secret([]byte("server key"), "sub-2"); string(a) == string(b) {
		t.Fatal("two subscriptions share a secret")
	}
	if b := webhook.Secret([]byte("other key"), "sub-1"); string(a) == string(b) {
		t.Fatal("two server keys derive one secret")
	}
	s := webhook.FormatSecret(a)
	if !strings.HasPrefix(s, "whsec_") {
		t.Fatalf("secret %q lacks whsec_", s)
	}
	if b, err := webhook.ParseSecret(s); err != nil || string(b) != string(a) {
		t.Fatalf("ParseSecret(FormatSecret) = %x, %v", b, err)
	}
}

func TestBackoff(t *testing.T) {
	base, max := time.Second, time.Minute
	for _, tc := range []struct {
		failures int
		u        float64
		want     time.Duration
	}{
		{0, 0.5, 0},
		{1, 0, 500 * time.Millisecond},
		{1, 0.999999, time.Second - time.Microsecond},
		{2, 0, time.Second},
		{4, 1, 8 * time.Second},
		{7, 0, 30 * time.Second}, // 64 s capped at a minute, half of it off
		{1000, 1, time.Minute},
	} {
		got := webhook.Backoff(tc.failures, base, max, tc.u)
		if d := got - tc.want; d > time.Microsecond || d < -time.Microsecond {
			t.Errorf("Backoff(%d, u=%v) = %v, want %v", tc.failures, tc.u, got, tc.want)
		}
	}
}

func TestTypeOf(t *testing.T) {
	for _, tc := range []struct {
		rec     webhook.Record
		typ     string
		subject string
	}{
		{webhook.Record{Action: "order.held_for_review"}, webhook.OrderHeld, "order"},
		{webhook.Record{Action: "order.accepted", ActorRole: "buyer"}, webhook.OrderDecided, "order"},
		{webhook.Record{Action: "order.accepted", ActorRole: "export_authority"}, webhook.OrderReleased, "order"},
		{webhook.Record{Action: "order.rejected", ActorRole: "buyer"}, webhook.OrderDecided, "order"},
		{webhook.Record{Action: "application.approved"}, webhook.ApplicationDecided, "application"},
		{webhook.Record{Action: "application.info_requested"}, webhook.ApplicationInfoRequested, "application"},
		{webhook.Record{Action: "application.rescreened", Payload: []byte(`{"status":"match","hits":[{"review":""}]}`)}, webhook.ScreeningHitRaised, "application"},
		{webhook.Record{Action: "application.rescreened", Payload: []byte(`{"status":"clear"}`)}, webhook.ScreeningHitCleared, "application"},
		{webhook.Record{Action: "application.hits_reviewed", Payload: []byte(`{"screening":{"status":"potential_match"}}`)}, webhook.ScreeningHitCleared, "application"},
		{webhook.Record{Action: "application.hits_reviewed", Payload: []byte(`{"screening":{"status":"match","hits":[{"review":"confirmed"}]}}`)}, webhook.ScreeningHitConfirmed, "application"},
		{webhook.Record{Action: "application.hits_reviewed", Payload: []byte(`{"screening":{"status":"match","hits":[{"review":"pending_second"}]}}`)}, webhook.ScreeningHitReviewed, "application"},
		{webhook.Record{Action: "application.hits_reviewed", Payload: []byte(`{"screening":{"status":"clear","hits":[{"review":"false_positive"}]}}`)}, webhook.ScreeningHitCleared, "application"},
		{webhook.Record{Action: "license.issued"}, webhook.LicenseIssued, "license"},
		{webhook.Record{Action: "license.suspended"}, webhook.LicenseSuspended, "license"},
		{webhook.Record{Action: "license.revoked"}, webhook.LicenseRevoked, "license"},
		{webhook.Record{Action: "permit.active"}, webhook.PermitIssued, "permit"},
		{webhook.Record{Action: "permit.revoked"}, webhook.PermitRevoked, "permit"},
		{webhook.Record{Action: "shipment.export_cleared"}, "shipment.export_cleared", "shipment"},
		{webhook.Record{Action: "alert.raised"}, webhook.AlertRaised, "alert"},
		{webhook.Record{Action: "alert.closed"}, webhook.AlertChanged, "alert"},
		{webhook.Record{Action: "lists.accepted"}, webhook.ListVersionLoaded, "list_version"},
	} {
		typ, subject, ok := webhook.TypeOf(tc.rec)
		if !ok || typ != tc.typ || subject != tc.subject {
			t.Errorf("TypeOf(%s) = %q, %q, %v; want %q, %q", tc.rec.Action, typ, subject, ok, tc.typ, tc.subject)
		}
		if !webhook.Known(typ) {
			t.Errorf("TypeOf(%s) = %q, which Known refuses", tc.rec.Action, typ)
		}
	}
	for _, action := range []string{"token.issued", "token.revoked", "session.started", "session.ended", "user.created",
		"party.created", "party.rescreened", "checkin.received", "state.adopted", "screening_log.sealed", "product.created"} {
		if typ, _, ok := webhook.TypeOf(webhook.Record{Action: action}); ok {
			t.Errorf("TypeOf(%s) = %q, want no event", action, typ)
		}
	}
	if webhook.Known("token.issued") || webhook.Known("shipment.") {
		t.Error("Known takes a type no record announces")
	}
	if !webhook.Wants(nil, "order.held") || !webhook.Wants([]string{"shipment.*"}, "shipment.picked_up") || webhook.Wants([]string{"order.held"}, "order.decided") {
		t.Error("Wants")
	}
}

func TestCheckURL(t *testing.T) {
	for _, tc := range []struct {
		url          string
		allowPrivate bool
		ok           bool
	}{
		{"https://hooks.example.com/chipgate", false, true},
		{"http://203.0.113.7:8080/x", false, true},
		{"ftp://hooks.example.com/", false, false},
		{"hooks.example.com/x", false, false},
		{"https://user:pw@hooks.example.com/", false, false},
		{"http://127.0.0.1:9000/", false, false},
		{"http://127.0.0.1:9000/", true, true},
		{"http://localhost/", false, false},
		{"http://10.1.2.3/", false, false},
		{"http://[::1]/", false, false},
		{"http://169.254.169.254/latest/meta-data", false, false},
		{"http://[::ffff:192.168.0.1]/", false, false},
	} {
		if err := webhook.CheckURL(tc.url, tc.allowPrivate); (err == nil) != tc.ok {
			t.Errorf("CheckURL(%q, %v) = %v, want ok=%v", tc.url, tc.allowPrivate, err, tc.ok)
		}
	}
}

// TestDialerRefusesPrivate: a name that passed CheckURL but resolves to a
// loopback address is refused at connection time.
func TestDialerRefusesPrivate(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer srv.Close()
	c := &http.Client{Transport: &http.Transport{DialContext: webhook.Dialer(time.Second, false).DialContext}}
	req, _ := http.NewRequestWithContext(context.Background(), "POST", strings.Replace(srv.URL, "127.0.0.1", "localhost", 1), nil)
	if resp, err := c.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("a delivery reached a loopback address")
	}
	c = &http.Client{Transport: &http.Transport{DialContext: webhook.Dialer(time.Second, true).DialContext}}
	resp, err := c.Post(srv.URL, "application/json", nil)
	if err != nil {
		t.Fatalf("with private addresses allowed: %v", err)
	}
	resp.Body.Close()
}
