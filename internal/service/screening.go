package service

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/policy"
	"github.com/chipgate/chipgate/internal/screening"
	"github.com/chipgate/chipgate/internal/store"
)

// ScreenQuery is one name to screen.
type ScreenQuery struct {
	Name    string `json:"name"`
	Country string `json:"country,omitempty"`
	Address string `json:"address,omitempty"`
}

// ScreenHit is one listed entity a name matched, with the words that matched.
type ScreenHit struct {
	List      string                 `json:"list"`
	SourceID  string                 `json:"source_id"`
	Name      string                 `json:"name"`
	Score     float64                `json:"score"`
	Matched   string                 `json:"matched"`
	Lists     []string               `json:"lists"`
	Programs  []string               `json:"programs,omitempty"`
	Countries []string               `json:"countries,omitempty"`
	Tokens    []screening.TokenMatch `json:"tokens"`
	Evidence  []screening.Evidence   `json:"evidence,omitempty"`
}

// ScreenResult is the hits for one query, best first. Evasion names the
// disguises found in the query (screening.Evasions: invisible or bidi
// characters, look-alike letters), which screening reads through but an
// officer should see.
type ScreenResult struct {
	Query   string      `json:"query"`
	Hits    []ScreenHit `json:"hits"`
	Evasion []string    `json:"evasion,omitempty"`
	// ListVersions are the versions of the lists the name was screened
	// against (set by the single-name search, GET /api/v1/screen).
	ListVersions []screening.ListVersion `json:"list_versions,omitempty"`
}

// ScreeningLogEntry is one screening as the log keeps it: who screened
// which name, when, against which list versions, and what it found. Kind
// is adhoc (a search through the API), application (an application's
// names, parties and sites' addresses, at submission, resubmission or a
// reload; Subject is the application), shipment (a carrier or lab a new
// shipment names; Subject is the shipment) or party (a carrier or lab at a
// reload; Subject is its slug).
type ScreeningLogEntry struct {
	ID      domain.ID   `json:"id"`
	At      time.Time   `json:"at"`
	Kind    string      `json:"kind"`
	Subject string      `json:"subject,omitempty"`
	Officer string      `json:"officer"`
	UserID  domain.ID   `json:"user_id"`
	Party   string      `json:"party"`
	Role    domain.Role `json:"role"`
	Query   string      `json:"query"`
	Country string      `json:"country,omitempty"`
	Address string      `json:"address,omitempty"`
	// Via is which of an application's names it was (legal_name, owners[0], …).
	Via      string  `json:"via,omitempty"`
	MinScore float64 `json:"min_score"`
	// Lists are the list versions used, each "LIST@digest" (see
	// screening.ListVersion).
	Lists     []string `json:"lists"`
	Hits      int      `json:"hits"`
	BestScore float64  `json:"best_score,omitempty"`
}

// listRefs are the compact references to list versions a log entry keeps.
func listRefs(vs []screening.ListVersion) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.List + "@" + v.Digest
	}
	return out
}

// logScreenings appends entries to the screening log in tx.
func logScreenings(ctx context.Context, tx store.Tx, entries []ScreeningLogEntry) error {
	rows := make([]store.ScreeningLogRow, len(entries))
	for i, e := range entries {
		doc, err := json.Marshal(e)
		if err != nil {
			return err
		}
		rows[i] = store.ScreeningLogRow{ID: e.ID, At: e.At, Kind: e.Kind, Doc: doc}
	}
	return tx.AddScreeningLog(ctx, rows, chainLink)
}

// MaxScreeningLogPage bounds a page of the screening log.
const MaxScreeningLogPage = 1000

// ScreeningLog reads the screening log, newest first: up to limit entries
// (100 when 0) logged before the instant (all when zero). Callers: the
// authorities and the auditor; EFORBIDDEN for anyone else. Returns
// EINVALID naming limit.
func (s *Service) ScreeningLog(ctx context.Context, who domain.Actor, before time.Time, limit int) ([]ScreeningLogEntry, error) {
	if err := authorize(who, ActScreeningLogRead); err != nil {
		return nil, err
	}
	if limit == 0 {
		limit = 100
	}
	if limit < 0 || limit > MaxScreeningLogPage {
		return nil, domain.Invalid("limit", "must be between 1 and %d", MaxScreeningLogPage)
	}
	// The searches logged so far are in it.
	if err := s.FlushScreeningLog(ctx); err != nil {
		return nil, err
	}
	docs, err := viewOf(ctx, s.store, func(tx store.Tx) ([][]byte, error) { return tx.ScreeningLog(ctx, before, limit) })
	if err != nil {
		return nil, err
	}
	out := make([]ScreeningLogEntry, len(docs))
	for i, d := range docs {
		if err := json.Unmarshal(d, &out[i]); err != nil {
			return nil, fmt.Errorf("service: screening log entry: %w", err)
		}
	}
	return out, nil
}

// MaxScreenBatch bounds a batch of screening queries.
const MaxScreenBatch = 1000

// Screen screens names against the restricted-party lists and returns the
// hits with the list versions used. Every name screened is logged (who,
// when, the query, the list versions, the hits), in batches a few
// milliseconds after the answer (screenlog.go). Callers: the vendor and the authorities. Returns EINVALID
// naming the query for an empty or absurd name, EUNAVAILABLE when no lists
// are loaded.
func (s *Service) Screen(ctx context.Context, who domain.Actor, qs []ScreenQuery, limit int, minScore float64) ([]ScreenResult, []screening.ListVersion, error) {
	if err := authorize(who, ActScreen); err != nil {
		return nil, nil, err
	}
	ix := s.screen.Load()
	if ix == nil {
		return nil, nil, domain.Errorf(domain.EUNAVAILABLE, "no restricted-party lists are loaded")
	}
	if len(qs) == 0 || len(qs) > MaxScreenBatch {
		return nil, nil, domain.Invalid("queries", "between 1 and %d", MaxScreenBatch)
	}
	if limit < 0 || limit > 100 {
		return nil, nil, domain.Invalid("limit", "must be between 0 and 100")
	}
	if minScore < 0 || minScore > 1 {
		return nil, nil, domain.Invalid("min_score", "must be between 0 and 1")
	}
	if minScore == 0 {
		// The policy's threshold; a caller's min_score overrides it.
		var rules policy.Rules
		if p := s.policy.Load(); p != nil {
			rules = p.At(s.Now())
		}
		minScore, _ = s.screeningThresholds(rules)
	}
	out := make([]ScreenResult, len(qs))
	versions := ix.Versions()
	lists := listRefs(versions)
	now := s.Now()
	log := make([]ScreeningLogEntry, len(qs))
	for i, q := range qs {
		hits, err := ix.Search(screening.Query{Name: q.Name, Country: q.Country, Address: q.Address, Limit: limit, MinScore: minScore})
		if err != nil {
			if len(qs) > 1 {
				if f := domain.ErrorFields(err); len(f) > 0 {
					return nil, nil, domain.Invalid("queries["+itoa(i)+"]."+f[0].Path, "%s", f[0].Message)
				}
			}
			return nil, nil, err
		}
		res := ScreenResult{Query: q.Name, Hits: make([]ScreenHit, len(hits)), Evasion: screening.Evasions(q.Name)}
		for j, h := range hits {
			src := h.Entity.PrimarySource()
			res.Hits[j] = ScreenHit{List: src.List, SourceID: src.ID, Name: h.Entity.Name, Score: h.Score, Matched: h.Matched,
				Lists: h.Entity.Lists(), Programs: h.Entity.Programs, Countries: h.Entity.Countries, Tokens: h.Tokens, Evidence: h.Evidence}
		}
		out[i] = res
		log[i] = ScreeningLogEntry{ID: newID(), At: now, Kind: "adhoc", Officer: officerName(who), UserID: who.UserID, Party: who.PartySlug, Role: who.Role,
			Query: q.Name, Country: q.Country, Address: q.Address, MinScore: minScore, Lists: lists, Hits: len(hits)}
		if len(hits) > 0 {
			log[i].BestScore = math.Round(hits[0].Score*1000) / 1000
		}
	}
	// Every search is logged, in batches (screenlog.go).
	if err := s.logSearches(ctx, log); err != nil {
		return nil, nil, err
	}
	return out, versions, nil
}

// RescreenReport says what a re-screening found.
type RescreenReport struct {
	Entities   int `json:"entities"`
	Screened   int `json:"applications_screened"`
	Changed    int `json:"applications_changed"`
	NewHits    int `json:"new_hits"`
	NowBlocked int `json:"now_blocked"`
	// NewMatches counts the parties the lists now match that did not
	// before: their open orders are held, their licenses suspended, and
	// the export authority alerted.
	NewMatches int `json:"new_matches"`
	// Custodians counts the carriers and labs screened.
	Custodians int `json:"custodians_screened"`
}

// MayReloadLists returns EFORBIDDEN unless who may reload the lists.
func (s *Service) MayReloadLists(who domain.Actor) error {
	return authorizeWork(who, ActListsReload, routineWork)
}

// ReloadLists swaps in a new restricted-party index (built off to the side
// by the caller) and re-screens every application still in force. Callers:
// the export authority and the operator.
func (s *Service) ReloadLists(ctx context.Context, who domain.Actor, ix *screening.Index) (RescreenReport, error) {
	if err := authorizeWork(who, ActListsReload, routineWork); err != nil {
		return RescreenReport{}, err
	}
	ix.Versions() // computed once, here rather than in the first search
	ix.PrepareAddresses()
	s.screen.Store(ix)
	rep, err := s.RescreenAll(ctx, who)
	rep.Entities = ix.Len()
	return rep, err
}

// RescreenAll screens every application that is not denied or revoked
// against the lists in use, each in its own transaction, then every
// carrier and lab (rescreenCustodians). Hits the export
// authority reviewed keep their review while the listing is unchanged; new
// hits wait for review, and a new match blocks an application not yet
// decided (an approved customer's orders are then rejected by the policy).
func (s *Service) RescreenAll(ctx context.Context, who domain.Actor) (RescreenReport, error) {
	var rep RescreenReport
	if err := authorizeWork(who, ActListsReload, routineWork); err != nil {
		return rep, err
	}
	if s.screen.Load() == nil {
		return rep, domain.Errorf(domain.EUNAVAILABLE, "no restricted-party lists are loaded")
	}
	rules, err := s.rulesNow()
	if err != nil {
		return rep, err
	}
	var ids []domain.ID
	if err := s.store.View(ctx, func(tx store.Tx) error {
		docs, err := tx.ListDocs(ctx, store.KindApplication, store.DocFilter{Status: []string{
			string(domain.AppSubmitted), string(domain.AppBlocked), string(domain.AppInfoRequested), string(domain.AppApproved), string(domain.AppSuspended)}})
		for _, d := range docs {
			ids = append(ids, d.ID)
		}
		return err
	}); err != nil {
		return rep, err
	}
	for _, id := range ids {
		err := s.store.InTx(ctx, func(tx store.Tx) error {
			a, err := store.Get[domain.Application](ctx, tx, store.KindApplication, id, true)
			if err != nil {
				return err
			}
			res, err := s.screenApplication(ctx, tx, who, rules, &a)
			if err != nil {
				return err
			}
			keepReviews(res.Hits, a.Screening.Hits)
			_, matchScore := s.screeningThresholds(rules)
			res.Status = screeningStatus(res.Hits, matchScore)
			rep.Screened++
			if sameHits(res.Hits, a.Screening.Hits) {
				return nil
			}
			rep.Changed++
			for _, h := range res.Hits {
				if h.Review == "" && !hasHit(a.Screening.Hits, h) {
					rep.NewHits++
				}
			}
			wasMatch := a.Screening.Status == "match"
			a.Screening, a.UpdatedAt = res, s.Now()
			if res.Status == "match" && (a.Status == domain.AppSubmitted || a.Status == domain.AppInfoRequested) {
				a.Status = domain.AppBlocked
				rep.NowBlocked++
			}
			if err := put(ctx, tx, store.KindApplication, false, appDoc(a), a); err != nil {
				return err
			}
			if err := s.record(ctx, tx, who, a.UpdatedAt, "application.rescreened", "application", a.ID.String(), a.Screening); err != nil {
				return err
			}
			if res.Status != "match" || wasMatch {
				return nil
			}
			// A new listing: hold, suspend, alert (listing.go).
			rep.NewMatches++
			return s.blockNewListing(ctx, tx, who, rules, a, blockingHits(res.Hits, matchScore), a.UpdatedAt)
		})
		if err != nil {
			return rep, err
		}
	}
	// The carriers and labs, whose screening each shipment step reads.
	return rep, s.rescreenCustodians(ctx, who, rules, &rep)
}

func hasHit(hits []domain.ScreeningHit, h domain.ScreeningHit) bool {
	for _, o := range hits {
		if o.SourceID == h.SourceID && o.List == h.List && o.Query == h.Query && o.Listing == h.Listing && (o.EntryHash == "" || o.EntryHash == h.EntryHash) {
			return true
		}
	}
	return false
}

// sameHits reports whether two screenings found the same hits through the
// same owners, inheriting alike, on entries of the same content and in the
// same review state: an ownership rule coming into force (or being
// suspended) changes a screening as much as a new listing does, and a
// changed entry re-opens its hit.
func sameHits(a, b []domain.ScreeningHit) bool {
	if len(a) != len(b) {
		return false
	}
	for _, h := range a {
		if !slices.ContainsFunc(b, func(o domain.ScreeningHit) bool {
			return o.SourceID == h.SourceID && o.List == h.List && o.Query == h.Query && o.Listing == h.Listing &&
				o.Via == h.Via && o.Share == h.Share && o.Inherited == h.Inherited && o.EntryHash == h.EntryHash && o.Review == h.Review
		}) {
			return false
		}
	}
	return true
}

// ReviewQueue lists the applications with screening hits still to decide
// (potential, escalated, or cleared once and waiting for a second
// officer): the export authority's screening work, denied and revoked ones
// left out. Callers: the export authority; EFORBIDDEN for anyone else.
func (s *Service) ReviewQueue(ctx context.Context, who domain.Actor) ([]domain.Application, error) {
	if err := authorize(who, ActApplicationDecide); err != nil {
		return nil, err
	}
	apps, err := s.Applications(ctx, who, nil)
	if err != nil {
		return nil, err
	}
	var out []domain.Application
	for _, a := range apps {
		if a.Status == domain.AppDenied || a.Status == domain.AppRevoked {
			continue
		}
		for _, h := range a.Screening.Hits {
			if h.Review == domain.HitPotential || h.Review == domain.HitEscalated || h.Review == domain.HitPendingSecond {
				out = append(out, a)
				break
			}
		}
	}
	return out, nil
}

func itoa(i int) string { return strconv.Itoa(i) }

// screeningThresholds returns the screening scores in force: the lowest
// score that is a hit and the score from which an unreviewed hit is a
// match, from the policy's screening rule (the library's defaults when the
// policy has none in force; Options.MatchScore overrides the match score).
func (s *Service) screeningThresholds(rules policy.Rules) (minScore, matchScore float64) {
	minScore, matchScore = screening.DefaultMinScore, DefaultMatchScore
	if p, _, ok := rules.Screening(); ok {
		minScore, matchScore = p.MinScore, p.MatchScore
	}
	if s.matchOverride > 0 {
		matchScore = s.matchOverride
	}
	return minScore, matchScore
}

// matchScore is the match score of the rules in force now.
func (s *Service) matchScore() float64 {
	var rules policy.Rules
	if p := s.policy.Load(); p != nil {
		rules = p.At(s.Now())
	}
	_, m := s.screeningThresholds(rules)
	return m
}

// listEntry is a listed entity as an officer reads it.
func listEntry(e *screening.Entity) *domain.ListEntry {
	le := &domain.ListEntry{Key: e.Key, Type: string(e.Type), Name: e.Name, Aliases: e.Aliases, Countries: e.Countries,
		Programs: e.Programs, IDs: e.IDs, Dates: e.Dates, Remarks: e.Remarks}
	for _, a := range e.Addresses {
		le.Addresses = append(le.Addresses, a.String())
	}
	for _, src := range e.Sources {
		le.Sources = append(le.Sources, domain.ListEntrySource{List: src.List, ID: src.ID, Name: src.Name, Listed: src.Listed,
			FederalRegister: src.Notice, Programs: src.Programs})
	}
	return le
}
