package server

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
)

// List is one page of a list read: its items (never null), the cursor of
// the next page and the link to it ("" on the last page, where nothing
// follows). The same query with ?cursor=next_cursor reads the next page.
type List[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
	Next       string `json:"next"`
}

// listQuery reads the paging and filter parameters of a list read:
// limit, cursor, order (desc, the default, or asc), status (comma
// separated), party (id or slug), since and before (an RFC 3339 instant or
// a date, which means its midnight UTC). A malformed one is EINVALID
// naming it; the service checks the rest (bounds, states, parties).
func listQuery(r *http.Request) (domain.ListQuery, error) {
	v := r.URL.Query()
	var q domain.ListQuery
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return q, domain.Invalid("limit", "must be a whole number between 1 and %d", domain.MaxPageLimit)
		}
		if n == 0 {
			n = -1 // an explicit 0 is out of range, not the default
		}
		q.Limit = n
	}
	q.Cursor = v.Get("cursor")
	switch v.Get("order") {
	case "", "desc":
	case "asc":
		q.Asc = true
	default:
		return q, domain.Invalid("order", "must be asc or desc")
	}
	q.Status = states(r)
	q.Party = v.Get("party")
	var err error
	if q.Since, err = instantParam(v, "since"); err != nil {
		return q, err
	}
	if q.Before, err = instantParam(v, "before"); err != nil {
		return q, err
	}
	return q, nil
}

func instantParam(v url.Values, name string) (time.Time, error) {
	s := v.Get(name)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, domain.Invalid(name, "must be an RFC 3339 instant (2026-03-01T00:00:00Z) or a date (2026-03-01)")
}

// nextLink is the request's URL with the cursor of the next page.
func nextLink(r *http.Request, cursor string) string {
	if cursor == "" {
		return ""
	}
	v := r.URL.Query()
	v.Set("cursor", cursor)
	return r.URL.Path + "?" + v.Encode()
}

// page serves one page of a list read: 200 with a List, and a Link header
// (rel="next") when more follow.
func page[T any](fn func(r *http.Request, who domain.Actor, q domain.ListQuery) (domain.Page[T], error)) func(http.ResponseWriter, *http.Request, domain.Actor) error {
	return func(w http.ResponseWriter, r *http.Request, who domain.Actor) error {
		q, err := listQuery(r)
		if err != nil {
			return err
		}
		p, err := fn(r, who, q)
		if err != nil {
			return err
		}
		out := List[T]{Items: nonNil(p.Items), NextCursor: p.NextCursor, Next: nextLink(r, p.NextCursor)}
		if out.Next != "" {
			w.Header().Set("Link", "<"+out.Next+`>; rel="next"`)
		}
		return writeJSON(w, http.StatusOK, out)
	}
}

// states reads ?status=a,b.
func states(r *http.Request) []string {
	v := r.URL.Query().Get("status")
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

// Param documents one query parameter of a route in the OpenAPI document.
type Param struct {
	Name        string
	Description string
	Schema      map[string]any
	Required    bool
	Example     any
}

// listParams documents the parameters of a list read of kind (its states,
// from the service; none when kind has no status), with party when the
// list can be filtered by party.
func listParams(kind string, party bool) []Param {
	ps := []Param{
		{Name: "limit", Description: "The most items on the page.",
			Schema: map[string]any{"type": "integer", "minimum": 1, "maximum": domain.MaxPageLimit, "default": domain.DefaultPageLimit}},
		{Name: "cursor", Description: "Where the page starts: next_cursor of the page before (opaque). Omit for the first page.",
			Schema: map[string]any{"type": "string"}},
		{Name: "order", Description: "desc lists newest first (by creation, then id); asc oldest first.",
			Schema: map[string]any{"type": "string", "enum": []any{"desc", "asc"}, "default": "desc"}},
		{Name: "since", Description: "Only items created at or after this instant (RFC 3339) or date (midnight UTC).",
			Schema: map[string]any{"type": "string"}, Example: "2026-03-01"},
		{Name: "before", Description: "Only items created before this instant (RFC 3339) or date (midnight UTC).",
			Schema: map[string]any{"type": "string"}, Example: "2026-04-01T00:00:00Z"},
	}
	if st := service.ListStates(kind); st != nil {
		ps = append(ps, Param{Name: "status", Description: "Only items in these states, comma separated: " + strings.Join(st, ", ") + ".",
			Schema: map[string]any{"type": "string"}, Example: st[0]})
	}
	if party {
		ps = append(ps, Param{Name: "party", Description: "Only this party's items, by id or slug (readers who see every party's; others may name only their own).",
			Schema: map[string]any{"type": "string"}, Example: "bytedance"})
	}
	return ps
}
