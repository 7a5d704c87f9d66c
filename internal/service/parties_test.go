package service_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/chipgate/chipgate/internal/demo"
	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
)

func TestCreateParty(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		sys := domain.SystemActor
		t.Run("OK", func(t *testing.T) {
			before := e.auditSize(t)
			p, err := e.svc.CreateParty(e.ctx, sys, service.PartyRequest{Slug: "moonshot", Name: "  Moonshot AI  ", Role: domain.RoleBuyer, Country: "CN", Class: domain.ClassSME})
			must(t, err)
			if p.Name != "Moonshot AI" || p.Role != domain.RoleBuyer || p.Class != domain.ClassSME || !p.CreatedAt.Equal(start) {
				t.Fatalf("party %+v", p)
			}
			got, err := e.svc.Party(e.ctx, sys, "moonshot")
			if err != nil || got.ID != p.ID {
				t.Fatalf("read back: %+v, %v", got, err)
			}
			rec := e.recorded(t, before, sys, "party.created")[0]
			if rec.SubjectType != "party" || rec.SubjectID != p.ID.String() || payload[domain.Party](t, rec).Slug != "moonshot" {
				t.Fatalf("record %+v", rec)
			}
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			e.refused(t, nil, func(who domain.Actor) error {
				_, err := e.svc.CreateParty(e.ctx, who, service.PartyRequest{Slug: "rogue", Name: "Rogue", Role: domain.RoleBuyer, Country: "CN"})
				return err
			})
		})
		for _, c := range []struct {
			name string
			in   service.PartyRequest
			path string
		}{
			{"ErrSlugInvalid", service.PartyRequest{Slug: "Not A Slug", Name: "X", Role: domain.RoleBuyer, Country: "CN"}, "slug"},
			{"ErrNameRequired", service.PartyRequest{Slug: "x1", Name: " ", Role: domain.RoleBuyer, Country: "CN"}, "name"},
			{"ErrNameTooLong", service.PartyRequest{Slug: "x1", Name: strings.Repeat("n", 301), Role: domain.RoleBuyer, Country: "CN"}, "name"},
			{"ErrNameNUL", service.PartyRequest{Slug: "x1", Name: "Null\x00Corp", Role: domain.RoleBuyer, Country: "CN"}, "name"},
			{"ErrRoleInvalid", service.PartyRequest{Slug: "x1", Name: "X", Role: "smuggler", Country: "CN"}, "role"},
			{"ErrCountryInvalid", service.PartyRequest{Slug: "x1", Name: "X", Role: domain.RoleBuyer, Country: "China"}, "country"},
			{"ErrClassInvalid", service.PartyRequest{Slug: "x1", Name: "X", Role: domain.RoleBuyer, Country: "CN", Class: "giant"}, "class"},
			{"ErrClassOfNonBuyer", service.PartyRequest{Slug: "x1", Name: "X", Role: domain.RoleCarrier, Country: "US", Class: domain.ClassCloud}, "class"},
		} {
			t.Run(c.name, func(t *testing.T) {
				before := e.auditSize(t)
				_, err := e.svc.CreateParty(e.ctx, sys, c.in)
				wantInvalid(t, err, c.path)
				e.unchanged(t, before)
			})
		}
		t.Run("ErrSlugTaken", func(t *testing.T) {
			before := e.auditSize(t)
			_, err := e.svc.CreateParty(e.ctx, sys, service.PartyRequest{Slug: "bytedance", Name: "Another ByteDance", Role: domain.RoleBuyer, Country: "CN"})
			wantCode(t, err, domain.ECONFLICT)
			e.unchanged(t, before)
		})
	})
}

func TestParty(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		alibaba, err := e.svc.Party(e.ctx, domain.SystemActor, "alibaba")
		must(t, err)
		t.Run("OK", func(t *testing.T) {
			// The vendor and the authorities see every party, by slug or id.
			for _, slug := range []string{"nvidia", "us-commerce", "cn-mofcom"} {
				for _, ref := range []string{"alibaba", alibaba.ID.String()} {
					p, err := e.svc.Party(e.ctx, e.as(slug), ref)
					if err != nil || p.ID != alibaba.ID {
						t.Fatalf("%s reads %s: %+v, %v", slug, ref, p, err)
					}
				}
			}
		})
		t.Run("OwnParty", func(t *testing.T) {
			for _, slug := range []string{"bytedance", "us-testlab", "carrier", "auditor"} {
				if p, err := e.svc.Party(e.ctx, e.as(slug), slug); err != nil || p.Slug != slug {
					t.Fatalf("%s reads itself: %+v, %v", slug, p, err)
				}
			}
		})
		t.Run("ErrOtherPartyNotFound", func(t *testing.T) {
			for _, slug := range []string{"bytedance", "us-testlab", "carrier", "auditor"} {
				_, err := e.svc.Party(e.ctx, e.as(slug), alibaba.ID.String())
				wantCode(t, err, domain.ENOTFOUND)
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			for _, ref := range []string{"no-such-party", "Not A Slug", uuid.NewString()} {
				_, err := e.svc.Party(e.ctx, e.as("nvidia"), ref)
				wantCode(t, err, domain.ENOTFOUND)
			}
		})
	})
}

func TestParties(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		t.Run("OK", func(t *testing.T) {
			for _, slug := range []string{"nvidia", "us-commerce"} {
				ps, err := e.svc.Parties(e.ctx, e.as(slug))
				if err != nil || len(ps) != len(demo.Cast) {
					t.Fatalf("%s lists %d parties, %v; want %d", slug, len(ps), err, len(demo.Cast))
				}
			}
			// China's import authority: every party but the buyers outside
			// its jurisdiction (TestImportAuthorityReadsItsJurisdictionsParties).
			ps, err := e.svc.Parties(e.ctx, e.as("cn-mofcom"))
			must(t, err)
			for _, p := range ps {
				if p.Role == domain.RoleBuyer && p.Country != "CN" {
					t.Fatalf("cn-mofcom lists %s (%s)", p.Slug, p.Country)
				}
			}
		})
		t.Run("OwnOnly", func(t *testing.T) {
			for _, slug := range []string{"bytedance", "us-testlab", "carrier", "auditor"} {
				ps, err := e.svc.Parties(e.ctx, e.as(slug))
				if err != nil || len(ps) != 1 || ps[0].Slug != slug {
					t.Fatalf("%s lists %+v, %v; want only itself", slug, ps, err)
				}
			}
		})
	})
}

func TestCreateUser(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		sys := domain.SystemActor
		t.Run("OK", func(t *testing.T) {
			before := e.auditSize(t)
			u, err := e.svc.CreateUser(e.ctx, sys, service.UserRequest{Party: "alibaba", Name: " Procurement bot "})
			must(t, err)
			if u.Name != "Procurement bot" || u.PartyID != e.as("alibaba").PartyID {
				t.Fatalf("user %+v", u)
			}
			rec := e.recorded(t, before, sys, "user.created")[0]
			if rec.SubjectID != u.ID.String() || payload[domain.User](t, rec).PartyID != u.PartyID {
				t.Fatalf("record %+v", rec)
			}
			// The new user acts for its party.
			tok, err := e.svc.IssueToken(e.ctx, sys, u.ID, "bot", 0)
			must(t, err)
			who, err := e.svc.Authenticate(e.ctx, tok.Secret)
			if err != nil || who.UserID != u.ID || who.PartySlug != "alibaba" || who.Role != domain.RoleBuyer {
				t.Fatalf("authenticated as %+v, %v", who, err)
			}
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			// Only an administrator adds users: a user of any role with
			// every other duty may not.
			e.refused(t, nil, func(who domain.Actor) error {
				who.Duties = domain.Duties{domain.DutyOfficer, domain.DutyApprover}
				_, err := e.svc.CreateUser(e.ctx, who, service.UserRequest{Party: who.PartySlug, Name: "sidekick"})
				return err
			})
		})
		t.Run("AdministratorOfOwnPartyOnly", func(t *testing.T) {
			who := e.as("alibaba")
			u, err := e.svc.CreateUser(e.ctx, who, service.UserRequest{Party: "alibaba", Name: "clerk", Duties: []domain.UserDuty{"approver", "officer", "officer"}})
			must(t, err)
			if !slices.Equal(u.Duties, domain.Duties{domain.DutyOfficer, domain.DutyApprover}) {
				t.Fatalf("duties %v, want officer, approver once each in order", u.Duties)
			}
			before := e.auditSize(t)
			_, err = e.svc.CreateUser(e.ctx, who, service.UserRequest{Party: "bytedance", Name: "mole"})
			wantCode(t, err, domain.ENOTFOUND)
			_, err = e.svc.CreateUser(e.ctx, who, service.UserRequest{Party: "alibaba", Name: "x", Duties: []domain.UserDuty{"root"}})
			wantInvalid(t, err, "duties[0]")
			e.unchanged(t, before)
		})
		t.Run("ErrPartyNotFound", func(t *testing.T) {
			before := e.auditSize(t)
			for _, ref := range []string{"no-such-party", uuid.NewString(), ""} {
				_, err := e.svc.CreateUser(e.ctx, sys, service.UserRequest{Party: ref, Name: "x"})
				wantCode(t, err, domain.ENOTFOUND)
			}
			e.unchanged(t, before)
		})
		t.Run("ErrNameRequired", func(t *testing.T) {
			_, err := e.svc.CreateUser(e.ctx, sys, service.UserRequest{Party: "alibaba", Name: "  "})
			wantInvalid(t, err, "name")
		})
		t.Run("ErrNameTooLong", func(t *testing.T) {
			_, err := e.svc.CreateUser(e.ctx, sys, service.UserRequest{Party: "alibaba", Name: strings.Repeat("n", 201)})
			wantInvalid(t, err, "name")
		})
		t.Run("ErrNameNUL", func(t *testing.T) {
			// PostgreSQL cannot store a NUL in a text column; SQLite can.
			// Both refuse it as bad input, not as an internal error.
			_, err := e.svc.CreateUser(e.ctx, sys, service.UserRequest{Party: "alibaba", Name: "bot\x00"})
			wantInvalid(t, err, "name")
		})
	})
}

func TestIssueToken(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		t.Run("OK", func(t *testing.T) {
			// Every role manages its own tokens.
			for _, r := range domain.Roles {
				who := e.as(castOf[r])
				before := e.auditSize(t)
				tok, err := e.svc.IssueToken(e.ctx, who, who.UserID, " laptop ", time.Hour)
				must(t, err)
				if !strings.HasPrefix(tok.Secret, service.TokenPrefix) || tok.Label != "laptop" || tok.UserID != who.UserID ||
					tok.ExpiresAt == nil || !tok.ExpiresAt.Equal(start.Add(time.Hour)) {
					t.Fatalf("%s's token %+v", r, tok)
				}
				got, err := e.svc.Authenticate(e.ctx, tok.Secret)
				if err != nil || !sameActor(got, who, tok.Token) {
					t.Fatalf("%s's token authenticates %+v, %v", r, got, err)
				}
				rec := e.recorded(t, before, who, "token.issued")[0]
				if rec.SubjectID != tok.ID.String() || strings.Contains(string(rec.Payload), tok.Secret) {
					t.Fatalf("record %s", rec.Payload)
				}
			}
		})
		t.Run("OperatorForAnyUser", func(t *testing.T) {
			tok, err := e.svc.IssueToken(e.ctx, domain.SystemActor, e.as("alibaba").UserID, "ops", 0)
			must(t, err)
			if tok.ExpiresAt != nil {
				t.Fatalf("ttl 0 expires at %v", tok.ExpiresAt)
			}
		})
		t.Run("ErrOtherUserNotFound", func(t *testing.T) {
			before := e.auditSize(t)
			_, err := e.svc.IssueToken(e.ctx, e.as("bytedance"), e.as("alibaba").UserID, "theirs", 0)
			wantCode(t, err, domain.ENOTFOUND)
			e.unchanged(t, before)
		})
		t.Run("ErrUserNotFound", func(t *testing.T) {
			_, err := e.svc.IssueToken(e.ctx, domain.SystemActor, uuid.New(), "ghost", 0)
			wantCode(t, err, domain.ENOTFOUND)
		})
		who := e.as("bytedance")
		t.Run("ErrLabelRequired", func(t *testing.T) {
			_, err := e.svc.IssueToken(e.ctx, who, who.UserID, " ", 0)
			wantInvalid(t, err, "label")
		})
		t.Run("ErrLabelTooLong", func(t *testing.T) {
			_, err := e.svc.IssueToken(e.ctx, who, who.UserID, strings.Repeat("l", 101), 0)
			wantInvalid(t, err, "label")
		})
		t.Run("ErrLabelNUL", func(t *testing.T) {
			before := e.auditSize(t)
			_, err := e.svc.IssueToken(e.ctx, who, who.UserID, "lap\x00top", 0)
			wantInvalid(t, err, "label")
			e.unchanged(t, before)
		})
		t.Run("ErrTTLNegative", func(t *testing.T) {
			_, err := e.svc.IssueToken(e.ctx, who, who.UserID, "x", -time.Second)
			wantInvalid(t, err, "ttl")
		})
	})
}

func TestRevokeToken(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		who := e.as("bytedance")
		issue := func(t *testing.T) service.IssuedToken {
			t.Helper()
			tok, err := e.svc.IssueToken(e.ctx, who, who.UserID, "spare", 0)
			must(t, err)
			return tok
		}
		t.Run("OK", func(t *testing.T) {
			tok := issue(t)
			if _, err := e.svc.Authenticate(e.ctx, tok.Secret); err != nil {
				t.Fatal(err) // cached under the current token epoch
			}
			before := e.auditSize(t)
			must(t, e.svc.RevokeToken(e.ctx, who, tok.ID))
			_, err := e.svc.Authenticate(e.ctx, tok.Secret)
			wantCode(t, err, domain.EUNAUTHORIZED)
			rec := e.recorded(t, before, who, "token.revoked")[0]
			if rec.SubjectID != tok.ID.String() || payload[domain.Token](t, rec).RevokedAt == nil {
				t.Fatalf("record %s", rec.Payload)
			}
			// Revoking again is no error and writes no second record.
			must(t, e.svc.RevokeToken(e.ctx, who, tok.ID))
			e.unchanged(t, before+1)
		})
		t.Run("OperatorAnyToken", func(t *testing.T) {
			tok := issue(t)
			must(t, e.svc.RevokeToken(e.ctx, domain.SystemActor, tok.ID))
			_, err := e.svc.Authenticate(e.ctx, tok.Secret)
			wantCode(t, err, domain.EUNAUTHORIZED)
		})
		t.Run("ErrOtherUsersTokenNotFound", func(t *testing.T) {
			tok := issue(t)
			before := e.auditSize(t)
			wantCode(t, e.svc.RevokeToken(e.ctx, e.as("alibaba"), tok.ID), domain.ENOTFOUND)
			e.unchanged(t, before)
			if _, err := e.svc.Authenticate(e.ctx, tok.Secret); err != nil {
				t.Fatalf("another party's attempt revoked the token: %v", err)
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			wantCode(t, e.svc.RevokeToken(e.ctx, who, uuid.New()), domain.ENOTFOUND)
		})
	})
}

func TestTokens(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		who := e.as("alibaba")
		tok, err := e.svc.IssueToken(e.ctx, who, who.UserID, "ci", 0)
		must(t, err)
		ks, err := e.svc.Tokens(e.ctx, who)
		must(t, err)
		if len(ks) != 2 { // the demo's and this one
			t.Fatalf("%d tokens: %+v", len(ks), ks)
		}
		for _, k := range ks {
			if k.UserID != who.UserID {
				t.Fatalf("alibaba lists another user's token %+v", k)
			}
		}
		if ks[0].ID != tok.ID {
			t.Fatalf("newest first: %+v", ks)
		}
	})
}

func TestAuthenticate(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		who := e.as("carrier")
		expiring, err := e.svc.IssueToken(e.ctx, who, who.UserID, "shift", time.Hour)
		must(t, err)
		t.Run("OK", func(t *testing.T) {
			got, err := e.svc.Authenticate(e.ctx, expiring.Secret)
			if err != nil || !sameActor(got, who, expiring.Token) {
				t.Fatalf("%+v, %v", got, err)
			}
		})
		t.Run("ErrUnauthorized", func(t *testing.T) {
			for name, secret := range map[string]string{
				"Empty": "", "NoPrefix": strings.TrimPrefix(expiring.Secret, service.TokenPrefix),
				"Unknown": service.TokenPrefix + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "TooLong": expiring.Secret + strings.Repeat("A", 200),
			} {
				_, err := e.svc.Authenticate(e.ctx, secret)
				if domain.ErrorCode(err) != domain.EUNAUTHORIZED {
					t.Errorf("%s: %v, want %s", name, err, domain.EUNAUTHORIZED)
				}
			}
		})
		t.Run("ErrExpired", func(t *testing.T) {
			e.clock.Add(time.Hour)
			_, err := e.svc.Authenticate(e.ctx, expiring.Secret)
			wantCode(t, err, domain.EUNAUTHORIZED)
		})
	})
}

// sameActor reports whether got is who presenting the token k.
func sameActor(got, who domain.Actor, k domain.Token) bool {
	if got.TokenID != k.ID || got.TokenExpiresAt == nil || k.ExpiresAt == nil || !got.TokenExpiresAt.Equal(*k.ExpiresAt) {
		return false
	}
	got.TokenID, got.TokenExpiresAt = who.TokenID, who.TokenExpiresAt
	return reflect.DeepEqual(got, who)
}
