package server

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/policy"
	"github.com/chipgate/chipgate/internal/service"
)

// Me is the authenticated caller and its party.
type Me struct {
	User  domain.Actor `json:"user"`
	Party domain.Party `json:"party"`
}

// Health is the body of /healthz.
type Health struct {
	Status   string `json:"status"`
	Database string `json:"database"`
	Version  string `json:"version"`
}

func (s *Server) baseRoutes(version string) []Route {
	return []Route{
		{Method: "GET", Path: "/healthz", Summary: "Liveness and database reachability (no token needed)", Public: true, Response: Health{},
			handle: func(w http.ResponseWriter, r *http.Request, _ domain.Actor) error {
				if err := s.svc.Store().Ping(r.Context()); err != nil {
					return err
				}
				return writeJSON(w, http.StatusOK, Health{Status: "ok", Database: s.svc.Store().Dialect(), Version: version})
			}},
		{Method: "GET", Path: "/api/v1/openapi.json", Summary: "This API as an OpenAPI 3.1 document (no token needed)", Public: true,
			handle: func(w http.ResponseWriter, r *http.Request, _ domain.Actor) error {
				w.Header().Set("Content-Type", "application/json")
				_, err := w.Write(s.spec())
				return err
			}},
		{Method: "GET", Path: "/metrics", Summary: "Prometheus metrics: platform-wide counts, for operators (the export authority's token)",
			Media: []string{"text/plain"},
			handle: func(w http.ResponseWriter, r *http.Request, who domain.Actor) error {
				if err := service.AuthorizeMetrics(who); err != nil {
					return err
				}
				s.metricsHandler().ServeHTTP(w, r)
				return nil
			}},
		{Method: "GET", Path: "/api/v1/me", Summary: "The caller: user, party and role", Response: Me{},
			handle: func(w http.ResponseWriter, r *http.Request, who domain.Actor) error {
				p, err := s.svc.Party(r.Context(), who, who.PartyID.String())
				if err != nil {
					return err
				}
				return writeJSON(w, http.StatusOK, Me{User: who, Party: p})
			}},
	}
}

// TokenRequest asks for a new token for the caller.
type TokenRequest struct {
	Label string `json:"label"`
	// TTLHours is the token's lifetime; 0 means it does not expire.
	TTLHours int `json:"ttl_hours"`
}

// NewUser adds a user to a party.
type NewUser struct {
	Name string `json:"name"`
	// Duties are officer, approver and administrator; none means the user
	// reads only.
	Duties []domain.UserDuty `json:"duties"`
}

// DutiesRequest replaces a user's duties.
type DutiesRequest struct {
	Duties []domain.UserDuty `json:"duties"`
}

func (s *Server) partyRoutes() []Route {
	return []Route{
		{Method: "GET", Path: "/api/v1/parties", Summary: "Parties the caller may see", Response: []domain.Party{},
			handle: func(w http.ResponseWriter, r *http.Request, who domain.Actor) error {
				ps, err := s.svc.Parties(r.Context(), who)
				if err != nil {
					return err
				}
				return writeJSON(w, http.StatusOK, nonNil(ps))
			}},
		{Method: "GET", Path: "/api/v1/parties/{ref}", Summary: "One party by id or slug", Response: domain.Party{},
			handle: func(w http.ResponseWriter, r *http.Request, who domain.Actor) error {
				p, err := s.svc.Party(r.Context(), who, r.PathValue("ref"))
				if err != nil {
					return err
				}
				return writeJSON(w, http.StatusOK, p)
			}},
		{Method: "GET", Path: "/api/v1/parties/{ref}/users", Summary: "The party's users and their duties (an administrator of the party)", Response: []domain.User{},
			handle: func(w http.ResponseWriter, r *http.Request, who domain.Actor) error {
				us, err := s.svc.Users(r.Context(), who, r.PathValue("ref"))
				if err != nil {
					return err
				}
				return writeJSON(w, http.StatusOK, nonNil(us))
			}},
		{Method: "POST", Path: "/api/v1/parties/{ref}/users", Summary: "Add a user with the duties given, and no other (an administrator of the party)", Status: http.StatusCreated,
			Request: NewUser{}, Response: domain.User{},
			handle: func(w http.ResponseWriter, r *http.Request, who domain.Actor) error {
				var in NewUser
				if err := decode(r, &in); err != nil {
					return err
				}
				u, err := s.svc.CreateUser(r.Context(), who, service.UserRequest{Party: r.PathValue("ref"), Name: in.Name, Duties: in.Duties})
				if err != nil {
					return err
				}
				return writeJSON(w, http.StatusCreated, u)
			}},
		{Method: "PUT", Path: "/api/v1/parties/{ref}/users/{id}/duties", Summary: "Replace a user's duties (an administrator of the party; not its own administrator duty)",
			Request: DutiesRequest{}, Response: domain.User{},
			handle: func(w http.ResponseWriter, r *http.Request, who domain.Actor) error {
				id, err := pathID(r, "id")
				if err != nil {
					return err
				}
				var in DutiesRequest
				if err := decode(r, &in); err != nil {
					return err
				}
				u, err := s.svc.SetDuties(r.Context(), who, r.PathValue("ref"), id, in.Duties)
				if err != nil {
					return err
				}
				return writeJSON(w, http.StatusOK, u)
			}},
		{Method: "PUT", Path: "/api/v1/parties/{ref}/identity-provider", Summary: "Configure the party's OpenID Connect provider for dashboard sign-in (an administrator of the party); the client secret is kept but never shown again",
			Request: service.IdentityProviderRequest{}, Response: domain.IdentityProvider{},
			handle: func(w http.ResponseWriter, r *http.Request, who domain.Actor) error {
				var in service.IdentityProviderRequest
				if err := decode(r, &in); err != nil {
					return err
				}
				p, err := s.svc.SetIdentityProvider(r.Context(), who, r.PathValue("ref"), in)
				if err != nil {
					return err
				}
				return writeJSON(w, http.StatusOK, p)
			}},
		{Method: "GET", Path: "/api/v1/parties/{ref}/identity-provider", Summary: "The party's OpenID Connect provider, without its secret (an administrator of the party)",
			Response: domain.IdentityProvider{},
			handle: func(w http.ResponseWriter, r *http.Request, who domain.Actor) error {
				p, err := s.svc.IdentityProvider(r.Context(), who, r.PathValue("ref"))
				if err != nil {
					return err
				}
				return writeJSON(w, http.StatusOK, p)
			}},
		{Method: "GET", Path: "/api/v1/parties/{ref}/identity-mappings", Summary: "The mappings of the provider's subjects and groups to the party's users (an administrator of the party)",
			Response: []domain.IdentityMapping{},
			handle: func(w http.ResponseWriter, r *http.Request, who domain.Actor) error {
				ms, err := s.svc.IdentityMappings(r.Context(), who, r.PathValue("ref"))
				if err != nil {
					return err
				}
				return writeJSON(w, http.StatusOK, nonNil(ms))
			}},
		{Method: "POST", Path: "/api/v1/parties/{ref}/identity-mappings", Summary: "Map a subject or a group of the party's provider to one of its users (an administrator of the party)", Status: http.StatusCreated,
			Request: service.MappingRequest{}, Response: domain.IdentityMapping{},
			handle: func(w http.ResponseWriter, r *http.Request, who domain.Actor) error {
				var in service.MappingRequest
				if err := decode(r, &in); err != nil {
					return err
				}
				m, err := s.svc.CreateIdentityMapping(r.Context(), who, r.PathValue("ref"), in)
				if err != nil {
					return err
				}
				return writeJSON(w, http.StatusCreated, m)
			}},
		{Method: "DELETE", Path: "/api/v1/parties/{ref}/identity-mappings/{id}", Summary: "Remove a mapping: its subject or group signs in no more (an administrator of the party)", Status: http.StatusNoContent,
			handle: func(w http.ResponseWriter, r *http.Request, who domain.Actor) error {
				id, err := pathID(r, "id")
				if err != nil {
					return err
				}
				if err := s.svc.DeleteIdentityMapping(r.Context(), who, r.PathValue("ref"), id); err != nil {
					return err
				}
				w.WriteHeader(http.StatusNoContent)
				return nil
			}},
		{Method: "GET", Path: "/api/v1/tokens", Summary: "The caller's own tokens (never their secrets)", Response: []domain.Token{},
			handle: func(w http.ResponseWriter, r *http.Request, who domain.Actor) error {
				ts, err := s.svc.Tokens(r.Context(), who)
				if err != nil {
					return err
				}
				return writeJSON(w, http.StatusOK, nonNil(ts))
			}},
		{Method: "POST", Path: "/api/v1/tokens", Summary: "Issue a new token for the caller; the secret is shown once (a retry with the same Idempotency-Key gets 409 naming the token, never the secret again)", Status: http.StatusCreated,
			Request: TokenRequest{}, Response: service.IssuedToken{}, secret: tokenSecretOnce,
			handle: func(w http.ResponseWriter, r *http.Request, who domain.Actor) error {
				var in TokenRequest
				if err := decode(r, &in); err != nil {
					return err
				}
				if in.TTLHours < 0 || in.TTLHours > 24*366 {
					return domain.Invalid("ttl_hours", "must be between 0 and 8784")
				}
				tok, err := s.svc.IssueToken(r.Context(), who, who.UserID, in.Label, time.Duration(in.TTLHours)*time.Hour)
				if err != nil {
					return err
				}
				return writeJSON(w, http.StatusCreated, tok)
			}},
		{Method: "DELETE", Path: "/api/v1/tokens/{id}", Summary: "Revoke one of the caller's tokens", Status: http.StatusNoContent,
			handle: func(w http.ResponseWriter, r *http.Request, who domain.Actor) error {
				id, err := pathID(r, "id")
				if err != nil {
					return err
				}
				if err := s.svc.RevokeToken(r.Context(), who, id); err != nil {
					return err
				}
				w.WriteHeader(http.StatusNoContent)
				return nil
			}},
	}
}

func (s *Server) catalogRoutes() []Route {
	return []Route{
		{Method: "GET", Path: "/api/v1/products", Summary: "The product catalog", Response: []domain.Product{},
			handle: func(w http.ResponseWriter, r *http.Request, who domain.Actor) error {
				ps, err := s.svc.Products(r.Context(), who)
				if err != nil {
					return err
				}
				return writeJSON(w, http.StatusOK, nonNil(ps))
			}},
		{Method: "GET", Path: "/api/v1/products/{ref}", Summary: "One product by id or slug", Response: domain.Product{},
			handle: func(w http.ResponseWriter, r *http.Request, who domain.Actor) error {
				p, err := s.svc.Product(r.Context(), who, r.PathValue("ref"))
				if err != nil {
					return err
				}
				return writeJSON(w, http.StatusOK, p)
			}},
		{Method: "GET", Path: "/api/v1/products/{ref}/classification", Summary: "TPP, PD, ECCN and the status per destination with its rule ids, under the rules in force ?at= (default now)",
			Response: policy.Classification{}, Query: []Param{atParam},
			handle: func(w http.ResponseWriter, r *http.Request, who domain.Actor) error {
				c, err := s.svc.Classification(r.Context(), who, r.PathValue("ref"), r.URL.Query().Get("at"))
				if err != nil {
					return err
				}
				return writeJSON(w, http.StatusOK, c)
			}},
		{Method: "GET", Path: "/api/v1/policy", Summary: "The rules in force ?at= (default now), with their sources",
			Response: policy.Rules{}, Query: []Param{atParam},
			handle: func(w http.ResponseWriter, r *http.Request, who domain.Actor) error {
				rules, err := s.svc.RulesAt(r.Context(), who, r.URL.Query().Get("at"))
				if err != nil {
					return err
				}
				return writeJSON(w, http.StatusOK, rules)
			}},
		{Method: "POST", Path: "/api/v1/products", Summary: "Add a product to the catalog (vendor)", Status: http.StatusCreated,
			Request: service.ProductRequest{}, Response: domain.Product{},
			handle: func(w http.ResponseWriter, r *http.Request, who domain.Actor) error {
				var in service.ProductRequest
				if err := decode(r, &in); err != nil {
					return err
				}
				p, err := s.svc.CreateProduct(r.Context(), who, in)
				if err != nil {
					return err
				}
				setLocation(w, r, p)
				return writeJSON(w, http.StatusCreated, p)
			}},
		{Method: "GET", Path: "/api/v1/lots", Summary: "Production lots, optionally of one product (?product=h200)", Response: []domain.Lot{},
			Query: []Param{{Name: "product", Description: "Only this product's lots, by slug or id.", Schema: map[string]any{"type": "string"}, Example: "h200"}},
			handle: func(w http.ResponseWriter, r *http.Request, who domain.Actor) error {
				ls, err := s.svc.Lots(r.Context(), who, r.URL.Query().Get("product"))
				if err != nil {
					return err
				}
				return writeJSON(w, http.StatusOK, nonNil(ls))
			}},
		{Method: "POST", Path: "/api/v1/lots", Summary: "Register a production lot (vendor)", Status: http.StatusCreated,
			Request: service.LotRequest{}, Response: domain.Lot{},
			handle: func(w http.ResponseWriter, r *http.Request, who domain.Actor) error {
				var in service.LotRequest
				if err := decode(r, &in); err != nil {
					return err
				}
				l, err := s.svc.CreateLot(r.Context(), who, in)
				if err != nil {
					return err
				}
				return writeJSON(w, http.StatusCreated, l)
			}},
	}
}

// atParam is ?at=, the instant whose rules a read applies.
var atParam = Param{Name: "at", Description: "The instant whose rules apply: RFC 3339 or a date; now when absent.",
	Schema: map[string]any{"type": "string"}, Example: "2026-01-15"}

// nonNil makes an empty list encode as [] rather than null.
func nonNil[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}

func pathID(r *http.Request, name string) (domain.ID, error) {
	id, err := domain.ParseID(r.PathValue(name))
	if err != nil {
		return domain.ID{}, domain.Errorf(domain.ENOTFOUND, "%s %q not found", name, r.PathValue(name))
	}
	return id, nil
}

// tokenSecretOnce keeps an issued token's answer for idempotent retries
// without its secret, which is stored nowhere but as a hash: a retry learns
// which token its first attempt issued (409), never the secret again.
var tokenSecretOnce = &secretAnswer{
	remove: func(body []byte) []byte {
		return keptWithout(body, func(t *service.IssuedToken) { t.Secret = "" })
	},
	restore: func(_ *http.Request, _ domain.Actor, kept []byte) ([]byte, error) {
		var t service.IssuedToken
		if err := json.Unmarshal(kept, &t); err != nil {
			return nil, err
		}
		return nil, domain.Errorf(domain.ECONFLICT, "the request with this Idempotency-Key issued token %s; its secret is shown only once — revoke it (DELETE /api/v1/tokens/%s) if it was lost, and issue another", t.ID, t.ID)
	},
}
