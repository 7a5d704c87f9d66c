package chipgatetest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/chipgatetest"
	"github.com/chipgate/chipgate/internal/demo"
	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/screening"
	"github.com/chipgate/chipgate/internal/server"
	"github.com/chipgate/chipgate/internal/store/storetest"
	"github.com/chipgate/chipgate/internal/web"
)

func TestClock(t *testing.T) {
	c := chipgatetest.NewClock(chipgatetest.Start())
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Add(time.Minute)
			_ = c.Now()
		}()
	}
	wg.Wait()
	if got, want := c.Now(), chipgatetest.Start().Add(100*time.Minute); !got.Equal(want) {
		t.Fatalf("after 100 concurrent minutes: %v, want %v", got, want)
	}
	at := time.Date(2026, 1, 14, 12, 0, 0, 0, time.UTC)
	c.Set(at)
	if !c.Now().Equal(at) {
		t.Fatalf("set back to %v: %v", at, c.Now())
	}
}

func TestScreeningIndexIsBuiltOnce(t *testing.T) {
	a, b := chipgatetest.ScreeningIndex(t), chipgatetest.ScreeningIndex(t)
	if a != b {
		t.Fatal("two indexes of the embedded list in one test binary")
	}
	if hits, err := a.Search(screening.Query{Name: "Huawei Technologies Co., Ltd."}); err != nil || len(hits) == 0 {
		t.Fatalf("the embedded list does not list Huawei: %v", err)
	}
}

// TestEnv: an env on every backend serves the demo cast to its parties,
// authenticates them for the service, and signs its log.
func TestEnv(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		e := chipgatetest.New(t, chipgatetest.OnBackend(b))
		c := e.Serve(server.Options{RateLimit: -1})
		if c != e.Client || e.Server == nil {
			t.Fatal("Serve did not set Server and Client")
		}
		if len(e.Creds) != len(demo.Cast) {
			t.Fatalf("%d tokens for %d cast parties", len(e.Creds), len(demo.Cast))
		}
		r := c.Do("bytedance", "GET", "/api/v1/me", nil)
		var me struct {
			User struct {
				PartySlug string `json:"party_slug"`
			} `json:"user"`
		}
		if r.Status != 200 || json.Unmarshal(r.Body, &me) != nil || me.User.PartySlug != "bytedance" {
			t.Fatalf("me as bytedance: %d %s", r.Status, r.Body)
		}
		if r := c.Do("", "GET", "/api/v1/me", nil); r.Status != 401 {
			t.Fatalf("me without a token: %d", r.Status)
		}
		if who := e.Actor("nvidia"); who.Role != domain.RoleVendor || who.PartySlug != "nvidia" {
			t.Fatalf("nvidia's actor: %+v", who)
		}
		before := chipgatetest.AuditSize(t, e.Store)
		if r := c.Do("alibaba", "POST", "/api/v1/tokens", map[string]any{"label": "kit"}); r.Status != 201 {
			t.Fatalf("issue a token: %d %s", r.Status, r.Body)
		}
		if after := chipgatetest.AuditSize(t, e.Store); after != before+1 {
			t.Fatalf("a token's audit records: %d, want 1", after-before)
		}
		e.Sign()
		cp, err := e.Service.LatestCheckpoint(context.Background(), domain.SystemActor)
		if err != nil || int64(cp.Size) != before+1 {
			t.Fatalf("checkpoint %+v, %v; want one over %d records", cp, err, before+1)
		}
		// The clock is the service's.
		e.Clock.Add(time.Hour)
		if got := e.Service.Now(); !got.Equal(chipgatetest.Start().Add(time.Hour)) {
			t.Fatalf("service time %v after an hour", got)
		}
	})
}

func TestEnvWithStoryAndDashboard(t *testing.T) {
	e := chipgatetest.New(t, chipgatetest.WithStory())
	svs, err := e.Service.Shipments(context.Background(), domain.SystemActor)
	if err != nil || len(svs) == 0 {
		t.Fatalf("the story's shipments: %d, %v", len(svs), err)
	}
	c := e.Serve(server.Options{Pages: e.Dashboard(web.Options{Key: []byte("kit key, 32 bytes long, really!")})})
	if r := c.Do("", "GET", "/signin", nil); r.Status != 200 {
		t.Fatalf("the dashboard's sign-in page: %d", r.Status)
	}
}

// TestClientSend: how the client encodes bodies and sets headers.
func TestClientSend(t *testing.T) {
	type seen struct {
		ct, auth, key, body string
	}
	got := make(chan seen, 1)
	url := chipgatetest.Listen(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Header.Get("Content-Type"), r.Header.Get("Authorization"), r.Header.Get("Idempotency-Key"), string(b)}
		w.Header().Set("X-Path", r.URL.Path)
		w.WriteHeader(http.StatusTeapot)
		_, _ = w.Write([]byte("answer"))
	}))
	c := &chipgatetest.Client{TB: t, URL: url, Creds: map[string]demo.Credential{"nvidia": {Token: "cg_n"}}}
	for _, tt := range []struct {
		name  string
		party string
		body  any
		opts  []chipgatetest.RequestOption
		want  seen
	}{
		{"NoBody", "", nil, nil, seen{}},
		{"JSON", "nvidia", map[string]int{"a": 1}, nil, seen{"application/json", "Bearer cg_n", "", `{"a":1}`}},
		{"StringAsIs", "nvidia", `{"b":`, nil, seen{"application/json", "Bearer cg_n", "", `{"b":`}},
		{"BytesAsIs", "", []byte("x"), nil, seen{"application/json", "", "", "x"}},
		{"RawMessage", "", json.RawMessage(`[1]`), nil, seen{"application/json", "", "", "[1]"}},
		{"UnknownParty", "nobody", nil, nil, seen{"", "Bearer", "", ""}},
		{"OtherContentType", "", "a=b", []chipgatetest.RequestOption{chipgatetest.Header("Content-Type", "text/plain")}, seen{"text/plain", "", "", "a=b"}},
		{"NoContentType", "", "{}", []chipgatetest.RequestOption{chipgatetest.Header("Content-Type", "")}, seen{"", "", "", "{}"}},
		{"IdempotencyKey", "", nil, []chipgatetest.RequestOption{chipgatetest.IdempotencyKey("k-1")}, seen{"", "", "k-1", ""}},
		{"NoIdempotencyKey", "", nil, []chipgatetest.RequestOption{chipgatetest.IdempotencyKey("")}, seen{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := c.Do(tt.party, "POST", "/x", tt.body, tt.opts...)
			if r.Status != http.StatusTeapot || string(r.Body) != "answer" || r.Header.Get("X-Path") != "/x" {
				t.Fatalf("response %d %q %v", r.Status, r.Body, r.Header)
			}
			// Go trims the value of "Bearer " to "Bearer" on the wire.
			if s := <-got; s != tt.want {
				t.Fatalf("the server saw %+v, want %+v", s, tt.want)
			}
		})
	}
	if _, err := (&chipgatetest.Client{URL: "http://127.0.0.1:1"}).Send("", "GET", "/", nil); err == nil {
		t.Fatal("Send to a closed port: no error")
	}
	if _, err := c.Send("", "POST", "/", map[string]any{"f": func() {}}); err == nil {
		t.Fatal("Send of a body JSON cannot encode: no error")
	}
}

func TestReadTokens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.json")
	want := map[string]demo.Credential{"bytedance": {Role: domain.RoleBuyer, Token: "cg_b"}}
	raw, _ := json.Marshal(want)
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := chipgatetest.ReadTokens(t, path); len(got) != 1 || got["bytedance"] != want["bytedance"] {
		t.Fatalf("read %v, want %v", got, want)
	}
}
