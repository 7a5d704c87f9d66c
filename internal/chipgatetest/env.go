package chipgatetest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/demo"
	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/server"
	"github.com/chipgate/chipgate/internal/service"
	"github.com/chipgate/chipgate/internal/store"
	"github.com/chipgate/chipgate/internal/store/storetest"
	"github.com/chipgate/chipgate/internal/web"
)

// Start is where an Env's clock starts: 2026-02-02 09:00 UTC, after the
// US rule of 2026-01-15 and China's first import approvals (2026-01-28),
// so that an order a licensed Chinese buyer places is accepted.
func Start() time.Time { return time.Date(2026, 2, 2, 9, 0, 0, 0, time.UTC) }

// TokenTTL is how long the demo tokens of an Env live: a year, so that no
// token expires however far a test moves the clock, unless it means to.
const TokenTTL = 365 * 24 * time.Hour

// Env is one test's program: a fresh store with the demo cast loaded, a
// service over it on a settable clock, a token for every cast party and a
// ledger signer; after Serve, an HTTP server too. Package tests wrap it
// in their own env with their fixtures.
type Env struct {
	TB testing.TB
	// Store is the env's own store, closed when the test ends; DSN opens
	// it again, as a second process or a restarted server would.
	Store store.Store
	DSN   string
	Clock *Clock
	// Service decides under the default policy and screens against the
	// embedded list.
	Service *service.Service
	// Creds holds the demo tokens by party slug; a test may add its own.
	// The Client reads the same map.
	Creds map[string]demo.Credential
	// Signer signs checkpoints; its key is the env's own.
	Signer *service.LedgerSigner
	// Server and Client are set by Serve.
	Server *server.Server
	Client *Client
	// Middleware, when set before Serve, wraps the server (the server
	// tests check every response against the OpenAPI document with it).
	Middleware func(http.Handler) http.Handler
}

// Option changes what New builds.
type Option func(*config)

type config struct {
	open  func(testing.TB) (store.Store, string)
	story bool
}

// OnBackend opens the env's store on b (from storetest.Run or
// storetest.Backends) instead of a SQLite file.
func OnBackend(b storetest.Backend) Option {
	return func(c *config) { c.open = b.Open }
}

// WithStory loads the demo's story as well as its cast: the first months'
// orders, shipments on the road, check-ins and alerts, what the dashboard
// is made to show.
func WithStory() Option {
	return func(c *config) { c.story = true }
}

// New opens a fresh store, loads the demo cast (and with WithStory its
// story) through a service on a clock standing at Start, issues a token
// for every cast party and makes a signer. It signs nothing and serves
// nothing: a test signs when its log is as it wants it, and calls Serve
// with the server's options.
func New(tb testing.TB, opts ...Option) *Env {
	tb.Helper()
	cfg := config{open: storetest.OpenSQLite}
	for _, o := range opts {
		o(&cfg)
	}
	ctx := context.Background()
	st, dsn := cfg.open(tb)
	clock := NewClock(Start())
	svc := NewService(tb, st, clock.Now)
	if _, err := demo.Load(ctx, svc); err != nil {
		tb.Fatalf("chipgatetest: demo: %v", err)
	}
	if cfg.story {
		if err := demo.LoadStory(ctx, svc); err != nil {
			tb.Fatalf("chipgatetest: demo story: %v", err)
		}
	}
	creds, err := demo.IssueTokens(ctx, svc, TokenTTL)
	if err != nil {
		tb.Fatalf("chipgatetest: demo tokens: %v", err)
	}
	return &Env{TB: tb, Store: st, DSN: dsn, Clock: clock, Service: svc, Creds: creds, Signer: NewSigner(tb)}
}

// Actor authenticates the party's token as the server would, so that a
// test can call the service as that party.
func (e *Env) Actor(party string) domain.Actor {
	e.TB.Helper()
	who, err := e.Service.Authenticate(context.Background(), e.Creds[party].Token)
	if err != nil {
		e.TB.Fatalf("chipgatetest: authenticate %s: %v", party, err)
	}
	return who
}

// Sign signs a checkpoint of the log as it is now.
func (e *Env) Sign() {
	e.TB.Helper()
	if _, err := e.Service.SignCheckpoint(context.Background(), e.Signer); err != nil {
		e.TB.Fatalf("chipgatetest: sign a checkpoint: %v", err)
	}
}

// Dashboard returns the web pages over the env's service, with a quiet
// log unless opt sets one. Sessions expire by the service's clock.
func (e *Env) Dashboard(opt web.Options) http.Handler {
	if opt.Log == nil {
		opt.Log = QuietLog()
	}
	return web.New(e.Service, opt)
}

// Serve starts the API over the env's service on a free port of the
// loopback interface, with a quiet log and the version "test" unless opt
// sets them, and stops it when the test ends. It sets Server and Client
// and returns the Client.
func (e *Env) Serve(opt server.Options) *Client {
	e.TB.Helper()
	if opt.Log == nil {
		opt.Log = QuietLog()
	}
	if opt.Version == "" {
		opt.Version = "test"
	}
	if opt.FailedAuthBurst == 0 {
		// Tests send many unauthenticated requests from one loopback
		// address; a test of the throttle asks for it.
		opt.FailedAuthBurst = -1
	}
	e.Server = server.New(e.Service, opt)
	var h http.Handler = e.Server
	if e.Middleware != nil {
		h = e.Middleware(h)
	}
	e.Client = &Client{TB: e.TB, URL: Listen(e.TB, h), Creds: e.Creds}
	return e.Client
}

// Listen serves h on a free port of the loopback interface until the test
// ends, and returns its base URL.
func Listen(tb testing.TB, h http.Handler) string {
	hs := httptest.NewServer(h)
	tb.Cleanup(hs.Close)
	return hs.URL
}
