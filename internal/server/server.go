// Package server is chipgate's HTTP face: the JSON API under /api/v1, the
// health and metrics endpoints, authentication by bearer token, RFC 9457
// problem+json errors, request logs and metrics. Every route is declared
// once in a Route table, from which the mux, the OpenAPI document and the
// authorization matrix test are all derived. Authorization itself is decided
// by the service.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/screening"
	"github.com/chipgate/chipgate/internal/service"
	"github.com/chipgate/chipgate/internal/throttle"
)

// MaxBodyBytes bounds every request body.
const MaxBodyBytes = 1 << 20

// RequestTimeout bounds the work of one request, database waits included; a
// request that cannot get the database in time gets 503 with Retry-After.
const RequestTimeout = 15 * time.Second

// Route is one endpoint of the API.
type Route struct {
	Method  string // GET, POST, DELETE
	Path    string // a ServeMux pattern path, "/api/v1/parties/{ref}"
	Summary string
	// Public routes need no token. Everything else does.
	Public bool
	// Request and Response are example values whose types document the
	// bodies in the OpenAPI document; nil for none.
	Request  any
	Response any
	// Status is the success status (200 when zero).
	Status int
	// Query documents the query parameters the route reads.
	Query []Param
	// Description says more than Summary, in the OpenAPI document.
	Description string
	// Media lists the success response's media types other than JSON
	// (text/plain, text/csv, …), in the OpenAPI document.
	Media []string
	// location marks a 201 route whose created resource has a GET route
	// at Path + "/{id}": its response carries Location.
	location bool
	// stream marks a long-lived response (Server-Sent Events), which
	// RequestTimeout does not bound.
	stream bool
	// secret, for a route whose answer shows a secret once, takes it out
	// of the answer an Idempotency-Key keeps and puts it back into a
	// replayed one (idempotency.go), so that the idempotency table does
	// not hold it.
	secret *secretAnswer
	handle func(w http.ResponseWriter, r *http.Request, who domain.Actor) error
}

// Key returns "METHOD /path", the route's name in tests and docs.
func (rt Route) Key() string { return rt.Method + " " + rt.Path }

// idempotent reports whether the route honors Idempotency-Key.
func (rt Route) idempotent() bool {
	return !rt.Public && (rt.Method == http.MethodPost || rt.Method == http.MethodPut)
}

// versioned are the collections whose records change after they are
// created: a read of one carries an ETag, and a change honors If-Match.
var versioned = []string{"applications", "licenses", "permits", "hearings", "orders", "alerts", "shipments"}

// resource returns the collection and whether the route addresses one
// record of a versioned collection (/api/v1/<collection>/{id}…).
func (rt Route) resource() (string, bool) {
	rest, ok := strings.CutPrefix(rt.Path, "/api/v1/")
	if !ok {
		return "", false
	}
	coll, tail, _ := strings.Cut(rest, "/")
	if !strings.HasPrefix(tail, "{id}") {
		return "", false
	}
	for _, v := range versioned {
		if v == coll {
			return coll, true
		}
	}
	return "", false
}

// etag reports whether the route reads one versioned record.
func (rt Route) etag() bool {
	_, ok := rt.resource()
	return ok && rt.Method == http.MethodGet
}

// ifMatch reports whether the route changes one versioned record.
func (rt Route) ifMatch() bool {
	_, ok := rt.resource()
	return ok && (rt.Method == http.MethodPost || rt.Method == http.MethodPut)
}

// Server serves chipgate over HTTP.
type Server struct {
	svc     *service.Service
	log     *slog.Logger
	routes  []Route
	handler http.Handler
	reg     *prometheus.Registry
	reqs    *prometheus.CounterVec
	latency *prometheus.HistogramVec

	reloadLists func(ctx context.Context) (*screening.Index, error)
	limit       *throttle.Bucket
	failures    *throttle.Bucket // failed authentications per client address
	proxies     throttle.Proxies // name the client behind a trusted proxy
	// idempotencyLease is how long a claimed Idempotency-Key may stay in
	// flight before a retry may take it over.
	idempotencyLease time.Duration
	// specOnce builds the OpenAPI document once.
	specOnce sync.Once
	specDoc  []byte
}

// spec returns the OpenAPI document, built on first use.
func (s *Server) spec() []byte {
	s.specOnce.Do(func() { s.specDoc = s.SpecJSON() })
	return s.specDoc
}

// Options configure a Server.
type Options struct {
	Log *slog.Logger
	// Version is reported by /healthz.
	Version string
	// ReloadLists builds a new restricted-party index from the configured
	// list source, for POST /api/v1/lists/reload; nil disables reloading.
	ReloadLists func(ctx context.Context) (*screening.Index, error)
	// Pages serves the web dashboard: every path outside /api/ that no API
	// route claims. It authenticates and authorizes on its own, through the
	// service.
	Pages http.Handler
	// RateLimit is the requests a second each user may make on average
	// (RateBurst at once); 0 means DefaultRateLimit, negative no limit.
	RateLimit float64
	RateBurst int
	// FailedAuthBurst is how many failed authentications a client address
	// may make at once before it is throttled (throttle.FailedAuth); 0 means
	// throttle.FailedAuthBurst, negative no throttle.
	FailedAuthBurst int
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client whose failed authentications are counted; none by default.
	TrustedProxies throttle.Proxies
	// IdempotencyLease is how long a request with an Idempotency-Key may
	// stay in flight (its process may have died) before a retry with the
	// key may take it over; 0 means DefaultIdempotencyLease. A takeover
	// is safe at any lease (the first attempt can no longer commit); a
	// short lease only fails slow first attempts.
	IdempotencyLease time.Duration
	// Collectors are more metrics to serve at /metrics (the ledger
	// signer's).
	Collectors []prometheus.Collector
}

// DefaultIdempotencyLease is the idempotency lease unless configured.
const DefaultIdempotencyLease = time.Minute

// DefaultRateLimit bounds each user's requests a second, in bursts of
// twice that unless Options.RateBurst says otherwise.
const DefaultRateLimit = 1000

// New returns a Server for svc with every route registered.
func New(svc *service.Service, opt Options) *Server {
	s := &Server{svc: svc, log: opt.Log, reg: prometheus.NewRegistry(), reloadLists: opt.ReloadLists, idempotencyLease: opt.IdempotencyLease}
	if s.idempotencyLease <= 0 {
		s.idempotencyLease = DefaultIdempotencyLease
	}
	if opt.RateLimit >= 0 {
		rate, burst := opt.RateLimit, opt.RateBurst
		if rate == 0 {
			rate = DefaultRateLimit
		}
		if burst <= 0 {
			burst = max(1, int(math.Ceil(2*rate)))
		}
		s.limit = throttle.New(rate, burst)
	}
	s.failures, s.proxies = throttle.FailedAuth(opt.FailedAuthBurst), opt.TrustedProxies
	if s.log == nil {
		s.log = slog.Default()
	}
	s.reqs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "chipgate_http_requests_total", Help: "HTTP requests by route pattern and status code.",
	}, []string{"route", "code"})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "chipgate_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"route"})
	s.reg.MustRegister(s.reqs, s.latency, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.reg.MustRegister(opt.Collectors...)
	if svc != nil { // nil only for the route table (Spec)
		s.reg.MustRegister(svc.Collectors()...)
	}

	s.routes = append(s.routes, s.baseRoutes(opt.Version)...)
	s.routes = append(s.routes, s.partyRoutes()...)
	s.routes = append(s.routes, s.catalogRoutes()...)
	s.routes = append(s.routes, s.programRoutes()...)
	s.routes = append(s.routes, s.ledgerRoutes()...)
	s.routes = append(s.routes, s.tileRoutes()...)
	s.routes = append(s.routes, s.screeningRoutes()...)
	s.routes = append(s.routes, s.allocationRoutes()...)
	s.routes = append(s.routes, s.shippingRoutes()...)
	s.routes = append(s.routes, s.watchRoutes()...)
	s.routes = append(s.routes, s.eventRoutes()...)

	// A 201 route whose record has a GET route at Path/{id} answers with
	// its Location.
	gets := map[string]bool{}
	for _, rt := range s.routes {
		if rt.Method == http.MethodGet {
			gets[rt.Path] = true
		}
	}
	for i, rt := range s.routes {
		s.routes[i].location = rt.Status == http.StatusCreated && (gets[rt.Path+"/{id}"] || gets[rt.Path+"/{ref}"])
	}

	mux := http.NewServeMux()
	// paths matches a request's path alone, so that a path served for
	// other methods answers 405 with Allow rather than 404.
	paths := http.NewServeMux()
	allow := map[string][]string{}
	for _, rt := range s.routes {
		mux.Handle(rt.Method+" "+rt.Path, s.endpoint(rt))
		if allow[rt.Path] == nil {
			paths.Handle(rt.Path, http.NotFoundHandler())
		}
		allow[rt.Path] = append(allow[rt.Path], rt.Method)
		if rt.Method == http.MethodGet {
			allow[rt.Path] = append(allow[rt.Path], http.MethodHead)
		}
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := paths.Handler(r); pattern != "" && len(allow[pattern]) > 0 {
			methods := allow[pattern]
			w.Header().Set("Allow", strings.Join(methods, ", "))
			writeProblem(w, r, s.log, &httpError{status: http.StatusMethodNotAllowed, code: "method_not_allowed",
				msg: fmt.Sprintf("%s is not allowed on %s; allowed: %s", r.Method, r.URL.Path, strings.Join(methods, ", "))})
			return
		}
		if opt.Pages != nil && !strings.HasPrefix(r.URL.Path, "/api/") {
			opt.Pages.ServeHTTP(w, r)
			return
		}
		writeProblem(w, r, s.log, domain.Errorf(domain.ENOTFOUND, "no route for %s %s", r.Method, r.URL.Path))
	})
	s.handler = s.observe(mux)
	return s
}

// Routes returns the route table.
func (s *Server) Routes() []Route { return append([]Route(nil), s.routes...) }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// endpoint wraps a route's handler with authentication and error writing.
func (s *Server) endpoint(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), RequestTimeout)
		if rt.stream {
			ctx, cancel = context.WithCancel(r.Context())
		}
		defer cancel()
		r = r.WithContext(ctx)
		var who domain.Actor
		if !rt.Public {
			addr := s.proxies.ClientAddr(r)
			if s.failures != nil {
				if empty, wait := s.failures.Empty(addr, time.Now()); empty {
					tooMany(w, r, s.log, wait, "too many failed authentications from this address")
					return
				}
			}
			var err error
			who, err = s.authenticate(r)
			if err != nil {
				if s.failures != nil && domain.ErrorCode(err) == domain.EUNAUTHORIZED {
					s.failures.Take(addr, time.Now())
				}
				writeProblem(w, r, s.log, err)
				return
			}
			setLogParty(r, who.PartySlug)
			if s.limit != nil {
				if ok, wait := s.limit.Take(who.UserID.String(), time.Now()); !ok {
					tooMany(w, r, s.log, wait, fmt.Sprintf("more than %g requests a second", s.limit.Rate))
					return
				}
			}
		}
		if rt.location {
			r = r.WithContext(context.WithValue(r.Context(), locationKey{}, rt.Path))
		}
		if rt.etag() || rt.ifMatch() {
			if id, err := domain.ParseID(r.PathValue("id")); err == nil {
				var match []string
				if h := r.Header.Values("If-Match"); len(h) > 0 && rt.ifMatch() {
					for _, v := range h {
						match = append(match, strings.Split(v, ",")...)
					}
				}
				ctx, v := service.WithVersion(r.Context(), id, match)
				r = r.WithContext(ctx)
				w = &etagWriter{ResponseWriter: w, v: v}
			}
		}
		var err error
		if key := r.Header.Get(IdempotencyHeader); key != "" && !rt.Public && (r.Method == http.MethodPost || r.Method == http.MethodPut) {
			err = s.idempotent(w, r, who, key, rt.secret, func(w http.ResponseWriter, r *http.Request) error { return rt.handle(w, r, who) })
		} else {
			err = rt.handle(w, r, who)
		}
		if err != nil {
			writeProblem(w, r, s.log, err)
		}
	})
}

// tooMany answers 429 with Retry-After.
func tooMany(w http.ResponseWriter, r *http.Request, log *slog.Logger, wait time.Duration, why string) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
	writeProblem(w, r, log, &httpError{status: http.StatusTooManyRequests, code: "rate_limited",
		msg: fmt.Sprintf("%s; retry in %s", why, wait.Round(time.Millisecond))})
}

func (s *Server) authenticate(r *http.Request) (domain.Actor, error) {
	h := r.Header.Get("Authorization")
	scheme, secret, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || secret == "" {
		return domain.Actor{}, domain.Errorf(domain.EUNAUTHORIZED, "a bearer token is required (Authorization: Bearer cg_…)")
	}
	return s.svc.Authenticate(r.Context(), strings.TrimSpace(secret))
}

// Serve runs the server on ln until ctx is done, then stops accepting,
// lets in-flight requests finish (up to grace) and returns.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger, grace time.Duration) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", grace)
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// locationKey carries, in a 201 route's request context, the path of the
// collection its created record belongs to.
type locationKey struct{}

// setLocation sets Location on a 201 answer whose body has an id, when the
// route's record can be read at the collection's path + "/" + id.
func setLocation(w http.ResponseWriter, r *http.Request, out any) {
	base, _ := r.Context().Value(locationKey{}).(string)
	if base == "" {
		return
	}
	v := reflect.ValueOf(out)
	for v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return
	}
	f := v.FieldByName("ID")
	if !f.IsValid() {
		return
	}
	if id, ok := f.Interface().(domain.ID); ok {
		w.Header().Set("Location", base+"/"+id.String())
	}
}

// etagWriter sets the ETag of the record a request read or changed on a
// successful answer.
type etagWriter struct {
	http.ResponseWriter
	v       *service.Version
	written bool
}

func (e *etagWriter) WriteHeader(code int) {
	if !e.written && code < 300 && e.v.Tag != "" {
		e.Header().Set("ETag", e.v.Tag)
	}
	e.written = true
	e.ResponseWriter.WriteHeader(code)
}

func (e *etagWriter) Write(b []byte) (int, error) {
	if !e.written {
		e.WriteHeader(http.StatusOK)
	}
	return e.ResponseWriter.Write(b)
}

// metricsHandler serves the Prometheus registry.
func (s *Server) metricsHandler() http.Handler {
	return promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{})
}
