// Package service holds chipgate's workflows: each exported method is one
// command or query of one actor. A command runs in one store transaction,
// decides with the pure engines, writes its state and its audit record in
// that transaction, and commits — so nothing acknowledged is lost and
// nothing half-written is ever visible.
//
// Authorization is decided here, in authz.go, and nowhere else.
package service

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/policy"
	"github.com/chipgate/chipgate/internal/screening"
	"github.com/chipgate/chipgate/internal/store"
)

// Service runs the program's commands against a store.
type Service struct {
	store  store.Store
	now    func() time.Time
	log    *slog.Logger
	policy atomic.Pointer[policy.Policy]
	screen atomic.Pointer[screening.Index]
	// matchOverride, when set, replaces the policy's match score (tests).
	matchOverride float64
	// conds caches compiled CEL conditions of licenses and permits.
	conds sync.Map
	// products caches committed products by slug and by id. The catalog
	// only grows and a product never changes once added, so an entry read
	// from committed data never goes stale.
	products sync.Map
	// parties caches committed parties by id; like products, a party never
	// changes once added.
	parties sync.Map
	// principals caches authenticated tokens under the token epoch (see
	// principal); principalCount bounds it.
	principals     sync.Map
	principalCount atomic.Int64
	// state binds the state rows to the ledger (statebind.go).
	state *stateBinding
	// tamperAlerts remembers the rows an alert was raised for.
	tamperAlerts sync.Map
	// searchLog batches the screening log entries of ad-hoc searches.
	searchLog screenLog
	// hooks are the operator's settings for events (webhooks.go).
	hooks WebhookOptions
	// solved, when set, runs after an allocation run solved its snapshot
	// and before it writes (tests change the inputs there).
	solved func()
}

// Options configure a Service. Zero values take defaults.
type Options struct {
	// Now is the clock; the default is the system clock. Times are UTC and
	// truncated to microseconds, the precision both backends keep.
	Now func() time.Time
	Log *slog.Logger
	// Policy is the program's rules; commands that decide need one.
	Policy *policy.Policy
	// Screening is the restricted-party index; without one, screening
	// results stay pending and the policy decides what that means.
	Screening *screening.Index
	// MatchScore overrides the screening score that blocks an application
	// (the policy's screening rule, match_score); 0 means the policy's.
	MatchScore float64
	// Webhooks are the operator's settings for events: the key secrets
	// derive from, attempts, back-off, private receivers.
	Webhooks WebhookOptions
}

// DefaultMatchScore is the screening score from which a hit counts as a
// match rather than a potential match when no screening rule is in force
// (the policy's screening.thresholds rule sets it otherwise).
const DefaultMatchScore = 0.95

// New returns a Service over st.
func New(st store.Store, opt Options) *Service {
	s := &Service{now: opt.Now, log: opt.Log, state: newStateBinding()}
	// Every command's rows are checked against the ledger (boundStore);
	// a request's record is versioned for ETag and If-Match (versionStore).
	s.store = versionStore{boundStore{st, s.state}}
	s.state.onTamper = s.stateTampered
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.matchOverride = opt.MatchScore
	s.hooks = opt.Webhooks.withDefaults()
	if opt.Policy != nil {
		s.policy.Store(opt.Policy)
	}
	if opt.Screening != nil {
		opt.Screening.PrepareAddresses()
		s.screen.Store(opt.Screening)
	}
	return s
}

// Store returns the service's store (for operator commands and health checks).
func (s *Service) Store() store.Store {
	if v, ok := s.store.(versionStore); ok {
		return v.Store
	}
	return s.store
}

// Now returns the service clock's current instant, UTC, in microseconds.
func (s *Service) Now() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// newID returns a fresh UUIDv7.
func newID() domain.ID {
	return uuid.Must(uuid.NewV7())
}

// record appends the audit record of one state change to the transaction.
// The payload is the canonical JSON of the new state.
func (s *Service) record(ctx context.Context, tx store.Tx, who domain.Actor, at time.Time, action, subjectType string, subjectID string, payload any) error {
	body, ok := payload.(canonicalJSON)
	if !ok {
		var err error
		if body, err = domain.CanonicalJSON(payload); err != nil {
			return err
		}
	}
	rec := domain.AuditRecord{
		ID: newID(), At: at,
		ActorUser: actorUser(who), ActorParty: who.PartySlug, ActorRole: string(who.Role),
		Action: action, SubjectType: subjectType, SubjectID: subjectID, Payload: body,
	}
	// Sequencing is synchronous: the record has its index when the command
	// commits. The ledger's leader integrates it into the Merkle tree and
	// signs a checkpoint over it shortly after (see Integrate).
	return tx.AppendAudit(ctx, &rec)
}

// storable returns EINVALID naming the first field whose text holds a NUL
// character, given pairs of path and value. PostgreSQL cannot store a NUL
// in a text column and fails the statement (SQLite stores it): without this
// check the backends would disagree, and PostgreSQL would report bad input
// as an internal error. Text that goes into documents and records is JSON,
// where a NUL is escaped, and needs no check.
func storable(pathValue ...string) error {
	for i := 0; i+1 < len(pathValue); i += 2 {
		if strings.ContainsRune(pathValue[i+1], 0) {
			return domain.Invalid(pathValue[i], "must not contain a NUL character")
		}
	}
	return nil
}

// canonicalJSON is a payload already in domain.CanonicalJSON's form, for a
// command that stores the same bytes as a document and records them.
type canonicalJSON []byte

// actorUser is who a record names as its actor user.
func actorUser(who domain.Actor) string {
	if who.UserID == (domain.ID{}) {
		return who.UserName
	}
	// The person, not only the account: its id, then its name (records
	// made before names were kept hold the id alone).
	return who.UserID.String() + " " + who.UserName
}

// viewOf runs read in a read-only transaction and returns what it read.
func viewOf[T any](ctx context.Context, st store.Store, read func(store.Tx) (T, error)) (T, error) {
	var v T
	err := st.View(ctx, func(tx store.Tx) error {
		var err error
		v, err = read(tx)
		return err
	})
	return v, err
}
