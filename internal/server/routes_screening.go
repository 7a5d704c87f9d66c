package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
)

// ScreenBatch is a batch of names to screen.
type ScreenBatch struct {
	Queries  []service.ScreenQuery `json:"queries"`
	Limit    int                   `json:"limit,omitempty"`
	MinScore float64               `json:"min_score,omitempty"`
}

func (s *Server) screeningRoutes() []Route {
	svc := s.svc
	return []Route{
		{Method: "GET", Path: "/api/v1/screen", Summary: "Screen one name (?name=&country=&address=&limit=&min_score=) against the restricted-party lists; the answer names the list versions used (list_versions), and the search is logged (GET /api/v1/screening/log)",
			Response: service.ScreenResult{},
			Query: []Param{
				{Name: "name", Description: "The name to screen.", Required: true, Schema: map[string]any{"type": "string", "minLength": 1, "maxLength": 1000}, Example: "Huawei Technologies"},
				{Name: "country", Description: "ISO 3166-1 alpha-2 country, to weigh matches.", Schema: map[string]any{"type": "string", "pattern": "^[A-Z]{2}$"}, Example: "CN"},
				{Name: "address", Description: "An address, to weigh matches.", Schema: map[string]any{"type": "string"}},
				{Name: "limit", Description: "The most hits (0 or absent: 10).", Schema: map[string]any{"type": "integer", "minimum": 0, "maximum": 100, "default": 10}},
				{Name: "min_score", Description: "The least score of a hit; absent or 0: the policy's min_score (rule screening.thresholds).", Schema: map[string]any{"type": "number", "minimum": 0, "maximum": 1}},
			},
			handle: read(func(r *http.Request, who domain.Actor) (any, error) {
				q := r.URL.Query()
				limit, err := queryInt(r, "limit", 0)
				if err != nil {
					return nil, err
				}
				var minScore float64
				if v := q.Get("min_score"); v != "" {
					if minScore, err = strconv.ParseFloat(v, 64); err != nil {
						return nil, domain.Invalid("min_score", "must be a number")
					}
				}
				res, versions, err := svc.Screen(r.Context(), who, []service.ScreenQuery{{Name: q.Get("name"), Country: q.Get("country"), Address: q.Get("address")}}, int(limit), minScore)
				if err != nil {
					return nil, err
				}
				res[0].ListVersions = versions
				return res[0], nil
			})},
		{Method: "POST", Path: "/api/v1/screen", Summary: "Screen a batch of up to 1,000 names", Request: ScreenBatch{}, Response: []service.ScreenResult{},
			handle: withBody(200, func(r *http.Request, who domain.Actor, in ScreenBatch) (any, error) {
				res, _, err := svc.Screen(r.Context(), who, in.Queries, in.Limit, in.MinScore)
				return res, err
			})},
		{Method: "POST", Path: "/api/v1/lists/reload", Summary: "Reload the restricted-party lists and re-screen every application in force (export authority); a version that shrinks too much or loses entities with open hits is refused (409) unless ?force=true&reason=…",
			Response: service.RescreenReport{},
			Query: []Param{
				{Name: "force", Description: "Accept a list version the integrity checks refuse; needs reason.", Schema: map[string]any{"type": "boolean"}, Example: true},
				{Name: "reason", Description: "Why a refused list version is accepted; recorded in the ledger. Required with force.", Schema: map[string]any{"type": "string", "maxLength": 1000}},
			},
			handle: func(w http.ResponseWriter, r *http.Request, who domain.Actor) error {
				if s.reloadLists == nil {
					return domain.Errorf(domain.EUNAVAILABLE, "this server has no list source to reload from")
				}
				// Authorize before the (expensive) load.
				if err := svc.MayReloadLists(who); err != nil {
					return err
				}
				ix, err := s.reloadLists(r.Context())
				if err != nil {
					return err
				}
				q := r.URL.Query()
				rep, err := svc.ReloadListsWith(r.Context(), who, ix, service.ListReload{Force: q.Get("force") == "true", Reason: q.Get("reason")})
				if err != nil {
					return err
				}
				return writeJSON(w, http.StatusOK, rep)
			}},
		{Method: "GET", Path: "/api/v1/screening/log", Summary: "The screening log, newest first: every screening, ad-hoc searches and applications' names, with who, when, the query, the list versions used and the hits (export authority, auditor)",
			Response: []service.ScreeningLogEntry{},
			Query: []Param{
				{Name: "before", Description: "Only entries logged before this instant (RFC 3339); the next page starts before the last entry's at.", Schema: map[string]any{"type": "string", "format": "date-time"}},
				{Name: "limit", Description: "The most entries (0 or absent: 100).", Schema: map[string]any{"type": "integer", "minimum": 0, "maximum": service.MaxScreeningLogPage, "default": 100}},
			},
			handle: read(func(r *http.Request, who domain.Actor) (any, error) {
				limit, err := queryInt(r, "limit", 0)
				if err != nil {
					return nil, err
				}
				var before time.Time
				if v := r.URL.Query().Get("before"); v != "" {
					if before, err = time.Parse(time.RFC3339Nano, v); err != nil {
						return nil, domain.Invalid("before", "must be an RFC 3339 instant")
					}
				}
				out, err := svc.ScreeningLog(r.Context(), who, before, int(limit))
				return nonNil(out), err
			})},
		{Method: "GET", Path: "/api/v1/screening/reviews", Summary: "Applications with screening hits not yet reviewed (export authority)", Response: []domain.Application{},
			handle: read(func(r *http.Request, who domain.Actor) (any, error) {
				out, err := svc.ReviewQueue(r.Context(), who)
				return nonNil(out), err
			})},
	}
}
