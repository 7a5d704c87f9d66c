package service

import (
	"context"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/store"
)

// The states each list may be filtered by (?status=).
var (
	orderStates       = []string{string(domain.OrderAccepted), string(domain.OrderHeld), string(domain.OrderRejected), string(domain.OrderCancelled), string(domain.OrderFulfilled)}
	applicationStates = []string{string(domain.AppSubmitted), string(domain.AppBlocked), string(domain.AppInfoRequested), string(domain.AppApproved), string(domain.AppDenied), string(domain.AppSuspended), string(domain.AppRevoked)}
	grantStates       = []string{string(domain.GrantActive), string(domain.GrantSuspended), string(domain.GrantRevoked), string(domain.GrantDenied)}
	hearingStates     = []string{"open", "closed"}
	shipmentStates    = []string{string(domain.ShipAtOrigin), string(domain.ShipInTransit), string(domain.ShipArrived), string(domain.ShipCleared), string(domain.ShipDelivered)}
	alertStates       = []string{string(domain.AlertOpen), string(domain.AlertExplained), string(domain.AlertEscalated)}
)

// ListStates returns the states a list of kind may be filtered by, for the
// API's documentation: "orders", "applications", "licenses", "permits",
// "hearings", "shipments" or "alerts"; nil for any other.
func ListStates(kind string) []string {
	switch kind {
	case "orders":
		return slices.Clone(orderStates)
	case "applications":
		return slices.Clone(applicationStates)
	case "licenses", "permits":
		return slices.Clone(grantStates)
	case "hearings":
		return slices.Clone(hearingStates)
	case "shipments":
		return slices.Clone(shipmentStates)
	case "alerts":
		return slices.Clone(alertStates)
	}
	return nil
}

// cursorPrefix versions the cursor's encoding: a cursor of another version
// is refused rather than misread.
const cursorPrefix = "c1."

// encodeCursor makes the opaque cursor of a list position: the creation
// instant in microseconds and the id.
func encodeCursor(p *store.Position) string {
	if p == nil {
		return ""
	}
	raw := strconv.FormatInt(p.CreatedAt.UnixMicro(), 10) + "." + p.ID.String()
	return cursorPrefix + base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// decodeCursor reads a cursor made by encodeCursor; EINVALID naming cursor
// for anything else.
func decodeCursor(c string) (*store.Position, error) {
	bad := domain.Invalid("cursor", "is not a cursor this API issued (take next_cursor from the page before)")
	enc, ok := strings.CutPrefix(c, cursorPrefix)
	if !ok {
		return nil, bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return nil, bad
	}
	us, id, ok := strings.Cut(string(raw), ".")
	if !ok {
		return nil, bad
	}
	n, err := strconv.ParseInt(us, 10, 64)
	if err != nil {
		return nil, bad
	}
	pid, err := domain.ParseID(id)
	if err != nil {
		return nil, bad
	}
	return &store.Position{CreatedAt: time.UnixMicro(n).UTC(), ID: pid}, nil
}

// pageQuery is a checked ListQuery: the store's filter and the page size.
type pageQuery struct {
	f     store.DocFilter
	limit int
	party string // the party asked for, resolved in the read's transaction
}

// checkQuery validates q for a list whose states are states (any state
// when nil). A reader who sees only its own party's records (scope own)
// gets them whatever it asks, and EFORBIDDEN for naming another party.
func checkQuery(who domain.Actor, q domain.ListQuery, states []string, scope scope) (pageQuery, error) {
	var pq pageQuery
	switch {
	case q.Limit == 0:
		pq.limit = domain.DefaultPageLimit
	case q.Limit < 1 || q.Limit > domain.MaxPageLimit:
		return pq, domain.Invalid("limit", "must be between 1 and %d", domain.MaxPageLimit)
	default:
		pq.limit = q.Limit
	}
	if q.Cursor != "" {
		after, err := decodeCursor(q.Cursor)
		if err != nil {
			return pq, err
		}
		pq.f.After = after
	}
	pq.f.Desc = !q.Asc
	for _, st := range q.Status {
		if states != nil && !slices.Contains(states, st) {
			return pq, domain.Invalid("status", "%q is not one of %s", st, strings.Join(states, ", "))
		}
	}
	pq.f.Status = q.Status
	if !q.Since.IsZero() && !q.Before.IsZero() && !q.Since.Before(q.Before) {
		return pq, domain.Invalid("before", "must be later than since")
	}
	pq.f.CreatedFrom, pq.f.CreatedBefore = q.Since, q.Before
	if scope == own && !isSystem(who) {
		if q.Party != "" && q.Party != who.PartySlug && q.Party != who.PartyID.String() {
			return pq, domain.Errorf(domain.EFORBIDDEN, "%s lists only its own party's records", who.Role)
		}
		pq.f.PartyID = who.PartyID
	} else {
		pq.party = q.Party
	}
	return pq, nil
}

// resolve turns the party asked for into its id in the read's transaction:
// EINVALID naming party when there is none of that id or slug.
func (pq *pageQuery) resolve(ctx context.Context, tx store.Tx) error {
	if pq.party == "" {
		return nil
	}
	p, err := partyByRef(ctx, tx, pq.party)
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		return domain.Invalid("party", "no party %q", pq.party)
	}
	pq.f.PartyID = p.ID
	return err
}

// pageOf reads one page of kind in tx.
func pageOf[T any](ctx context.Context, tx store.Tx, kind store.Kind, pq pageQuery) (domain.Page[T], error) {
	if err := pq.resolve(ctx, tx); err != nil {
		return domain.Page[T]{}, err
	}
	items, next, err := store.PageOf[T](ctx, tx, kind, pq.f, pq.limit)
	if err != nil {
		return domain.Page[T]{}, err
	}
	return domain.Page[T]{Items: items, NextCursor: encodeCursor(next)}, nil
}

// mapPage converts a page's items.
func mapPage[T, U any](p domain.Page[T], fn func(T) U) domain.Page[U] {
	out := domain.Page[U]{Items: make([]U, len(p.Items)), NextCursor: p.NextCursor}
	for i, v := range p.Items {
		out.Items[i] = fn(v)
	}
	return out
}
