package service_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/chipgatetest"
	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
	"github.com/chipgate/chipgate/internal/store/storetest"
	"github.com/chipgate/chipgate/internal/webhook"
)

// receiver is a real HTTP receiver on the loopback interface: it verifies
// every attempt's signature as a subscriber would, keeps every attempt,
// and answers as the test tells it.
type receiver struct {
	t   *testing.T
	srv *httptest.Server
	mu  sync.Mutex
	// secret verifies the deliveries; set once the subscription is made.
	secret []byte
	got    []attempt
	// answer, when set, decides the status of attempt n (from 0) of the
	// event id; it may block (a receiver that does not answer).
	answer func(r *http.Request, id string, n int) int
}

type attempt struct {
	ID      string
	Type    string
	Subject string
	Object  json.RawMessage
	At      time.Time
	OK      bool // answered 2xx
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{t: t}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	id := r.Header.Get("webhook-id")
	rc.mu.Lock()
	secret, answer := rc.secret, rc.answer
	n := 0
	for _, a := range rc.got {
		if a.ID == id {
			n++
		}
	}
	at := len(rc.got)
	rc.got = append(rc.got, attempt{ID: id, At: time.Now()})
	rc.mu.Unlock()
	if err := webhook.Verify(secret, id, r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature"), body, time.Now(), 5*time.Minute); err != nil {
		rc.t.Errorf("delivery %s does not verify: %v", id, err)
	}
	var ev struct {
		Type string            `json:"type"`
		Data service.EventData `json:"data"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		rc.t.Errorf("delivery %s: %v: %s", id, err, body)
	}
	if strconv.FormatInt(ev.Data.LedgerIndex, 10) != id && ev.Type != webhook.CheckpointPublished {
		rc.t.Errorf("delivery %s carries the ledger index %d", id, ev.Data.LedgerIndex)
	}
	status := http.StatusNoContent
	if answer != nil {
		status = answer(r, id, n)
	}
	obj, _ := json.Marshal(ev.Data.Object)
	rc.mu.Lock()
	a := &rc.got[at]
	// An answer after the sender gave up is no answer.
	a.Type, a.Subject, a.Object, a.OK = ev.Type, ev.Data.SubjectID, obj, status < 300 && r.Context().Err() == nil
	rc.mu.Unlock()
	w.WriteHeader(status)
}

// delivered returns the events answered 2xx, in the order they were.
func (rc *receiver) delivered() []attempt {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []attempt
	for _, a := range rc.got {
		if a.OK {
			out = append(out, a)
		}
	}
	return out
}

func (rc *receiver) attempts(id string) []attempt {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []attempt
	for _, a := range rc.got {
		if a.ID == id {
			out = append(out, a)
		}
	}
	return out
}

// subscribe subscribes who's party to the receiver and keeps the secret.
func (e *env) subscribe(t *testing.T, who domain.Actor, rc *receiver, types ...string) service.Webhook {
	t.Helper()
	w, err := e.svc.CreateWebhook(e.ctx, who, service.WebhookRequest{URL: rc.srv.URL + "/hook", Types: types})
	must(t, err)
	secret, err := webhook.ParseSecret(w.Secret)
	must(t, err)
	if string(secret) != string(webhook.Secret([]byte(chipgatetest.WebhookKey), w.ID.String())) {
		t.Fatal("the secret shown is not the one derived from the server key")
	}
	rc.mu.Lock()
	rc.secret = secret
	rc.mu.Unlock()
	return w
}

// worker runs svc's delivery worker until the returned stop is called
// (or the test ends); stop returns once the worker has.
func worker(t *testing.T, svc *service.Service) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		svc.RunWebhooks(ctx)
	}()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	return stop
}

// hooked returns a service over e's store with the kit's event settings
// changed by mod.
func (e *env) hooked(t *testing.T, mod func(*service.WebhookOptions)) *service.Service {
	o := chipgatetest.Webhooks()
	mod(&o)
	return service.New(e.st, service.Options{Log: chipgatetest.QuietLog(), Now: e.clock.Now, Policy: chipgatetest.Policy(t), Screening: chipgatetest.ScreeningIndex(t), Webhooks: o})
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func ids(as []attempt) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.ID
	}
	return out
}

// ordered fails unless the ledger indexes of the events rise.
func ordered(t *testing.T, as []attempt) {
	t.Helper()
	for i := 1; i < len(as); i++ {
		a, _ := strconv.Atoi(as[i-1].ID)
		b, _ := strconv.Atoi(as[i].ID)
		if b <= a {
			t.Fatalf("events out of ledger order: %v", ids(as))
		}
	}
}

// TestWebhookDelivery: each party's subscription receives, signed and in
// ledger order, the events of the types it asked for that its party may
// read, each carrying its subject as the party reads it; a buyer's never
// carries another buyer's application, license, permit or order.
func TestWebhookDelivery(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		byte, cloudA, cloudB, authority, vendor, lab := newReceiver(t), newReceiver(t), newReceiver(t), newReceiver(t), newReceiver(t), newReceiver(t)
		e.subscribe(t, e.as("bytedance"), byte)
		e.subscribe(t, e.as("us-cloud-a"), cloudA)
		e.subscribe(t, e.as("us-cloud-b"), cloudB)
		e.subscribe(t, e.as("us-commerce"), authority, webhook.ApplicationSubmitted, webhook.ApplicationDecided)
		e.subscribe(t, e.as("nvidia"), vendor, webhook.OrderDecided)
		e.subscribe(t, e.as("us-testlab"), lab)
		worker(t, e.svc)

		appB, licB := e.customer(t, "bytedance", 100)
		appA, _ := e.customer(t, "us-cloud-a", 100)
		appC, _ := e.customer(t, "us-cloud-b", 100)
		oA := e.order(t, "us-cloud-a", 10)
		oC := e.order(t, "us-cloud-b", 5)

		eventually(t, "the vendor's two orders", func() bool { return len(vendor.delivered()) == 2 })
		eventually(t, "us-cloud-a's order", func() bool { return len(cloudA.delivered()) == 2 })
		eventually(t, "us-cloud-b's order", func() bool { return len(cloudB.delivered()) == 2 })
		eventually(t, "bytedance's four events", func() bool { return len(byte.delivered()) == 4 })
		eventually(t, "the authority's four application events", func() bool { return len(authority.delivered()) == 4 })

		types := func(as []attempt) []string {
			var out []string
			for _, a := range as {
				out = append(out, a.Type+" "+a.Subject)
			}
			return out
		}
		got := byte.delivered()
		ordered(t, got)
		if gt := types(got); !slices.Equal(gt[:3], []string{
			webhook.ApplicationSubmitted + " " + appB.ID.String(), webhook.LicenseIssued + " " + licB.ID.String(),
			webhook.ApplicationDecided + " " + appB.ID.String(),
		}) || got[3].Type != webhook.PermitIssued {
			t.Fatalf("bytedance received %q", gt)
		}
		for rc, want := range map[*receiver][]string{
			cloudA: {webhook.ApplicationSubmitted + " " + appA.ID.String(), webhook.OrderDecided + " " + oA.ID.String()},
			cloudB: {webhook.ApplicationSubmitted + " " + appC.ID.String(), webhook.OrderDecided + " " + oC.ID.String()},
			vendor: {webhook.OrderDecided + " " + oA.ID.String(), webhook.OrderDecided + " " + oC.ID.String()},
		} {
			if gt := types(rc.delivered()); !slices.Equal(gt, want) {
				t.Fatalf("received %q, want %q", gt, want)
			}
		}
		var o domain.Order
		must(t, json.Unmarshal(cloudA.delivered()[1].Object, &o))
		if o.ID != oA.ID || o.Status != domain.OrderAccepted || o.Quantity != 10 {
			t.Fatalf("the order event carries %+v", o)
		}
		ordered(t, authority.delivered())
		time.Sleep(50 * time.Millisecond) // the worker has long passed every record
		if len(lab.delivered()) != 0 {
			t.Fatalf("the lab, which may read none of these, received %q", types(lab.delivered()))
		}
		for rc, n := range map[*receiver]int{byte: 4, cloudA: 2, cloudB: 2} {
			if got := len(rc.delivered()); got != n {
				t.Fatalf("a buyer received %d events, want its own %d: %q", got, n, types(rc.delivered()))
			}
		}
		// The worker stores its progress within a second.
		var w []service.Webhook
		eventually(t, "bytedance's progress stored", func() bool {
			var err error
			w, err = e.svc.Webhooks(e.ctx, e.as("bytedance"))
			must(t, err)
			return len(w) == 1 && w[0].Delivered == 4
		})
		if w[0].Failures != 0 || w[0].Secret != "" || w[0].NextIndex < index(got[3])+1 {
			t.Fatalf("bytedance's subscriptions: %+v", w)
		}
	})
}

// TestWebhookRetries: an event the receiver answers 500, then lets time
// out, goes again with the same id after a back-off, and the next event
// waits for it (one in flight, in order).
func TestWebhookRetries(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		svc := e.hooked(t, func(o *service.WebhookOptions) { o.Timeout = 200 * time.Millisecond })
		rc := newReceiver(t)
		var first string
		rc.answer = func(r *http.Request, id string, n int) int {
			rc.mu.Lock()
			if first == "" {
				first = id
			}
			isFirst := first == id
			rc.mu.Unlock()
			switch {
			case isFirst && n == 0:
				return http.StatusInternalServerError
			case isFirst && n == 1:
				select { // longer than the attempt's timeout
				case <-r.Context().Done():
				case <-time.After(2 * time.Second):
				}
				return http.StatusOK
			}
			return http.StatusOK
		}
		e.subscribe(t, e.as("us-commerce"), rc, webhook.ApplicationSubmitted)
		worker(t, svc)
		e.apply(t, "bytedance")
		e.apply(t, "alibaba")
		eventually(t, "two events delivered", func() bool { return len(rc.delivered()) == 2 })
		tries := rc.attempts(first)
		if len(tries) != 3 || tries[0].OK || tries[1].OK || !tries[2].OK {
			t.Fatalf("the first event's attempts: %+v, want 500, timeout, 200", tries)
		}
		if gap := tries[1].At.Sub(tries[0].At); gap < 5*time.Millisecond {
			t.Fatalf("retried after %v: no back-off", gap)
		}
		second := rc.delivered()[1]
		if second.ID == first || rc.attempts(second.ID)[0].At.Before(tries[2].At) {
			t.Fatal("the second event went before the first was delivered")
		}
		ordered(t, rc.delivered())
	})
}

// TestWebhookDeadLetterReplay: a receiver that never answers gets each
// event MaxAttempts times, then the event goes to the dead letters and the
// next one is tried; a replay delivers them again with the same ids. A
// party cannot see, replay or delete another party's subscription.
func TestWebhookDeadLetterReplay(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		svc := e.hooked(t, func(o *service.WebhookOptions) { o.Timeout, o.MaxAttempts = 100*time.Millisecond, 3 })
		rc := newReceiver(t)
		var mu sync.Mutex
		healthy := false
		rc.answer = func(r *http.Request, _ string, _ int) int {
			mu.Lock()
			ok := healthy
			mu.Unlock()
			if !ok {
				<-r.Context().Done() // never answers
			}
			return http.StatusOK
		}
		w := e.subscribe(t, e.as("us-commerce"), rc, webhook.ApplicationSubmitted)
		worker(t, svc)
		a1, a2 := e.apply(t, "bytedance"), e.apply(t, "alibaba")
		var got service.Webhook
		eventually(t, "two dead letters", func() bool {
			var err error
			got, err = e.svc.Webhook(e.ctx, e.as("us-commerce"), w.ID)
			must(t, err)
			return len(got.DeadLetters) == 2
		})
		for i, d := range got.DeadLetters {
			if d.Attempts != 3 || d.Type != webhook.ApplicationSubmitted || d.LastError == "" {
				t.Fatalf("dead letter %d: %+v", i, d)
			}
			// An attempt that timed out before the receiver read it
			// (a loaded machine) never reached it: at most 3 did.
			if n := len(rc.attempts(d.EventID)); n < 1 || n > 3 {
				t.Fatalf("event %s reached the receiver %d times, want 1 to 3", d.EventID, n)
			}
		}
		if len(rc.delivered()) != 0 {
			t.Fatal("a receiver that never answers had deliveries")
		}

		for _, other := range []string{"alibaba", "nvidia"} {
			_, err := e.svc.Webhook(e.ctx, e.as(other), w.ID)
			wantCode(t, err, domain.ENOTFOUND)
			_, err = e.svc.ReplayWebhook(e.ctx, e.as(other), w.ID, service.ReplayRequest{})
			wantCode(t, err, domain.ENOTFOUND)
			wantCode(t, e.svc.DeleteWebhook(e.ctx, e.as(other), w.ID), domain.ENOTFOUND)
		}
		mu.Lock()
		healthy = true
		mu.Unlock()
		replayed, err := e.svc.ReplayWebhook(e.ctx, e.as("us-commerce"), w.ID, service.ReplayRequest{})
		must(t, err)
		if len(replayed.DeadLetters) != 0 || replayed.NextIndex != got.DeadLetters[0].LedgerIndex {
			t.Fatalf("after the replay: %+v", replayed)
		}
		eventually(t, "the replayed events", func() bool { return len(rc.delivered()) == 2 })
		d := rc.delivered()
		if d[0].ID != got.DeadLetters[0].EventID || d[1].ID != got.DeadLetters[1].EventID || d[0].Subject != a1.ID.String() || d[1].Subject != a2.ID.String() {
			t.Fatalf("replayed %v, want the dead letters %+v", ids(d), got.DeadLetters)
		}
		// A replay from an index delivers again what was delivered.
		_, err = e.svc.ReplayWebhook(e.ctx, e.as("us-commerce"), w.ID, service.ReplayRequest{From: ptr(index(d[0]))})
		must(t, err)
		eventually(t, "the second replay", func() bool { return len(rc.delivered()) == 4 })
		if d := rc.delivered(); d[2].ID != d[0].ID || d[3].ID != d[1].ID {
			t.Fatalf("a replay from %s delivered %v", d[0].ID, ids(d))
		}
		_, err = e.svc.ReplayWebhook(e.ctx, e.as("us-commerce"), w.ID, service.ReplayRequest{})
		wantInvalid(t, err, "from")
		far := int64(1 << 40)
		_, err = e.svc.ReplayWebhook(e.ctx, e.as("us-commerce"), w.ID, service.ReplayRequest{From: &far})
		wantInvalid(t, err, "from")

		must(t, e.svc.DeleteWebhook(e.ctx, e.as("us-commerce"), w.ID))
		late := e.apply(t, "tencent")
		time.Sleep(200 * time.Millisecond) // twenty polls
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if slices.ContainsFunc(rc.got, func(a attempt) bool { return a.Subject == late.ID.String() }) {
			t.Fatal("an event was delivered after the subscription was deleted")
		}
	})
}

// TestWebhookRestart: the server stops while a delivery is in flight; the
// restarted one delivers it again with the same id, and then the rest:
// nothing lost, every event once at least, in order.
func TestWebhookRestart(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		rc := newReceiver(t)
		inFlight := make(chan string, 1)
		var mu sync.Mutex
		restarted := false
		rc.answer = func(r *http.Request, id string, _ int) int {
			mu.Lock()
			after := restarted
			mu.Unlock()
			if !after {
				select {
				case inFlight <- id:
				default:
				}
				<-r.Context().Done() // the server goes down meanwhile
				return http.StatusServiceUnavailable
			}
			return http.StatusOK
		}
		e.subscribe(t, e.as("us-commerce"), rc, webhook.ApplicationSubmitted)
		stop := worker(t, e.svc)
		var apps []string
		for _, b := range []string{"bytedance", "alibaba", "tencent"} {
			apps = append(apps, e.apply(t, b).ID.String())
		}
		id := <-inFlight
		stop()
		mu.Lock()
		restarted = true
		mu.Unlock()

		st := storetest.MustOpen(t, e.dsn)
		worker(t, chipgatetest.NewService(t, st, e.clock.Now))
		eventually(t, "three events after the restart", func() bool { return len(rc.delivered()) == 3 })
		d := rc.delivered()
		ordered(t, d)
		if d[0].ID != id {
			t.Fatalf("after the restart the first delivery is %s, want %s, the one in flight", d[0].ID, id)
		}
		if n := len(rc.attempts(id)); n != 2 {
			t.Fatalf("the event in flight was attempted %d times, want twice with one id", n)
		}
		for i, a := range d {
			if a.Subject != apps[i] {
				t.Fatalf("delivery %d is about %s, want %s", i, a.Subject, apps[i])
			}
		}
	})
}

func index(a attempt) int64 {
	n, _ := strconv.ParseInt(a.ID, 10, 64)
	return n
}

// TestWebhookScreeningAndCheckpoints: the export authority hears of a
// screening hit and of its clearing; the buyer whose application it is
// hears that it submitted, without the hits, and nothing of screening. A
// signed checkpoint is announced, once the cursor has passed its size,
// before the records after it, with the id checkpoint-<size>.
func TestWebhookScreeningAndCheckpoints(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		buyer, authority, public := newReceiver(t), newReceiver(t), newReceiver(t)
		e.subscribe(t, e.as("bytedance"), buyer)
		e.subscribe(t, e.as("us-commerce"), authority, webhook.ScreeningHitCleared, webhook.ScreeningHitConfirmed, webhook.ApplicationSubmitted)
		e.subscribe(t, e.as("auditor"), public, webhook.CheckpointPublished, webhook.ApplicationSubmitted)
		worker(t, e.svc)
		signer := chipgatetest.NewSigner(t)
		a := e.submit(t, listedName)
		cp, err := e.svc.SignCheckpoint(e.ctx, signer)
		must(t, err)
		// Clearing a strong hit takes two officers (four eyes): the first
		// clear is only reviewed, the second clears.
		clear := []service.HitReview{{Hit: 0, Decision: "false_positive", Reason: "different_identifiers", Note: "another company of the same name"}}
		_, err = e.svc.ReviewHits(e.ctx, e.as("us-commerce"), a.ID, clear)
		must(t, err)
		u, err := e.svc.CreateUser(e.ctx, domain.SystemActor, service.UserRequest{Party: "us-commerce", Name: "second officer", Duties: domain.AllDuties})
		must(t, err)
		tok, err := e.svc.IssueToken(e.ctx, domain.SystemActor, u.ID, "test", 0)
		must(t, err)
		second, err := e.svc.Authenticate(e.ctx, tok.Secret)
		must(t, err)
		_, err = e.svc.ReviewHits(e.ctx, second, a.ID, clear)
		must(t, err)

		eventually(t, "the authority's two events", func() bool { return len(authority.delivered()) == 2 })
		got := authority.delivered()
		if got[0].Type != webhook.ApplicationSubmitted || got[1].Type != webhook.ScreeningHitCleared || got[1].Subject != a.ID.String() {
			t.Fatalf("the authority heard %+v", got)
		}
		var seen domain.Application
		must(t, json.Unmarshal(got[0].Object, &seen))
		if len(seen.Screening.Hits) == 0 {
			t.Fatal("the authority's event lacks the hits it may read")
		}
		eventually(t, "the checkpoint", func() bool {
			return slices.ContainsFunc(public.delivered(), func(a attempt) bool { return a.Type == webhook.CheckpointPublished })
		})
		if p := public.delivered(); len(p) != 1 || p[0].ID != "checkpoint-"+strconv.FormatUint(cp.Size, 10) {
			t.Fatalf("the auditor heard %q, want only checkpoint-%d (it may not read applications)", ids(p), cp.Size)
		}

		time.Sleep(100 * time.Millisecond) // ten polls past the review
		for _, a := range buyer.delivered() {
			if strings.HasPrefix(a.Type, "screening.") || strings.Contains(string(a.Object), `"hits"`) {
				t.Fatalf("the buyer heard of its screening: %s %s", a.Type, a.Object)
			}
		}
		// Every role may read checkpoints: the buyer, subscribed to all,
		// hears of it after its application (the record it covers).
		if d := buyer.delivered(); len(d) != 2 || d[0].Type != webhook.ApplicationSubmitted || d[1].Type != webhook.CheckpointPublished {
			t.Fatalf("the buyer heard %q", ids(d))
		}
	})
}
