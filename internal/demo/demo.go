// Package demo loads the demo cast of chipgate: the vendor, the two
// authorities, eight buyers, the US lab, a carrier and an auditor, the
// product catalog, and a year of H200 production lots made in Taiwan. Other
// tests and issues rely on these slugs; keep them stable.
package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/chipgate/chipgate/internal/catalog"
	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
	"github.com/chipgate/chipgate/internal/store"
)

// Cast is the demo's parties, in a stable order.
var Cast = []service.PartyRequest{
	{Slug: "nvidia", Name: "NVIDIA Corporation", Role: domain.RoleVendor, Country: "US"},
	{Slug: "us-commerce", Name: "US Department of Commerce, Bureau of Industry and Security", Role: domain.RoleExportAuthority, Country: "US"},
	{Slug: "cn-mofcom", Name: "PRC Ministry of Commerce, NDRC and MIIT", Role: domain.RoleImportAuthority, Country: "CN"},
	{Slug: "bytedance", Name: "Beijing ByteDance Technology Co., Ltd.", Role: domain.RoleBuyer, Country: "CN", Class: domain.ClassPlatform},
	{Slug: "alibaba", Name: "Alibaba Cloud Computing Co., Ltd.", Role: domain.RoleBuyer, Country: "CN", Class: domain.ClassPlatform},
	{Slug: "tencent", Name: "Shenzhen Tencent Computer Systems Co., Ltd.", Role: domain.RoleBuyer, Country: "CN", Class: domain.ClassPlatform},
	{Slug: "cn-university-lab", Name: "Tsinghua-style University AI Laboratory", Role: domain.RoleBuyer, Country: "CN", Class: domain.ClassResearch},
	{Slug: "deepcurrent-ai", Name: "DeepCurrent AI (Hangzhou) Co., Ltd.", Role: domain.RoleBuyer, Country: "CN", Class: domain.ClassSME},
	{Slug: "us-cloud-a", Name: "US Cloud A, Inc.", Role: domain.RoleBuyer, Country: "US", Class: domain.ClassCloud},
	{Slug: "us-cloud-b", Name: "US Cloud B, LLC", Role: domain.RoleBuyer, Country: "US", Class: domain.ClassCloud},
	{Slug: "eu-research", Name: "European AI Research Consortium", Role: domain.RoleBuyer, Country: "DE", Class: domain.ClassResearch},
	{Slug: "us-testlab", Name: "Independent US Test Laboratory", Role: domain.RoleLab, Country: "US"},
	{Slug: "carrier", Name: "Trans-Pacific Logistics and Customs Broker", Role: domain.RoleCarrier, Country: "US"},
	{Slug: "auditor", Name: "Public Auditor", Role: domain.RoleAuditor, Country: "US"},
}

// LotsStart is the Monday of the first demo H200 lot; lots follow weekly for
// a year.
var LotsStart = time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)

// Load creates whatever part of the demo cast, catalog and lots is missing,
// so that it can run on a fresh or on an existing database. It reports how
// many parties it created.
func Load(ctx context.Context, svc *service.Service) (created int, err error) {
	who := domain.SystemActor
	existing := map[string]bool{}
	if err := svc.Store().View(ctx, func(tx store.Tx) error {
		ps, err := tx.Parties(ctx)
		for _, p := range ps {
			existing[p.Slug] = true
		}
		return err
	}); err != nil {
		return 0, err
	}
	for _, c := range Cast {
		if existing[c.Slug] {
			continue
		}
		if _, err := svc.CreateParty(ctx, who, c); err != nil {
			return created, fmt.Errorf("demo: party %s: %w", c.Slug, err)
		}
		if _, err := svc.CreateUser(ctx, who, service.UserRequest{Party: c.Slug, Name: c.Slug + " demo user", Duties: domain.AllDuties}); err != nil {
			return created, fmt.Errorf("demo: user of %s: %w", c.Slug, err)
		}
		created++
	}
	products, err := catalog.Products()
	if err != nil {
		return created, err
	}
	for _, p := range products {
		if _, err := svc.Product(ctx, who, p.Slug); err == nil {
			continue
		}
		if _, err := svc.CreateProduct(ctx, who, service.ProductRequest{Slug: p.Slug, Name: p.Name, Family: p.Family, Spec: p.Spec, LaunchDate: p.LaunchDate.Format(time.DateOnly)}); err != nil {
			return created, fmt.Errorf("demo: product %s: %w", p.Slug, err)
		}
	}
	lots, err := svc.Lots(ctx, who, "h200")
	if err != nil {
		return created, err
	}
	if len(lots) == 0 {
		for _, l := range H200Lots() {
			if _, err := svc.CreateLot(ctx, who, l); err != nil {
				return created, fmt.Errorf("demo: lot %s: %w", l.Number, err)
			}
		}
	}
	return created, nil
}

// H200Lots is a year of weekly H200 lots made in Taiwan: 52 lots whose sizes
// vary with a fixed pattern around 13,500 units (about 700,000 a year),
// available two weeks after they are made.
func H200Lots() []service.LotRequest {
	out := make([]service.LotRequest, 52)
	for i := range out {
		made := LotsStart.AddDate(0, 0, 7*i)
		out[i] = service.LotRequest{
			Product:     "h200",
			Number:      fmt.Sprintf("TW-H200-%s", made.Format("2006-01-02")),
			Quantity:    12_000 + int64((i*7919)%3001),
			Origin:      "TW",
			MadeOn:      made.Format(time.DateOnly),
			AvailableOn: made.AddDate(0, 0, 14).Format(time.DateOnly),
		}
	}
	return out
}

// Credential is a demo party's role and bearer token.
type Credential struct {
	Role  domain.Role `json:"role"`
	Token string      `json:"token"`
}

// DemoTokenLabel marks the tokens the demo issues; each start revokes the
// previous ones, so that only the printed tokens work.
const DemoTokenLabel = "demo"

// IssueTokens revokes earlier demo tokens and issues a fresh one for the
// first user of every cast party, valid for ttl.
func IssueTokens(ctx context.Context, svc *service.Service, ttl time.Duration) (map[string]Credential, error) {
	who := domain.SystemActor
	out := map[string]Credential{}
	for _, c := range Cast {
		var user domain.User
		var old []domain.Token
		err := svc.Store().View(ctx, func(tx store.Tx) error {
			p, err := tx.PartyBySlug(ctx, c.Slug)
			if err != nil {
				return err
			}
			us, err := tx.Users(ctx, p.ID)
			if err != nil {
				return err
			}
			if len(us) == 0 {
				return fmt.Errorf("demo: party %s has no user", c.Slug)
			}
			user = us[0]
			old, err = tx.Tokens(ctx, user.ID)
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, k := range old {
			if k.Label == DemoTokenLabel && k.RevokedAt == nil {
				if err := svc.RevokeToken(ctx, who, k.ID); err != nil {
					return nil, err
				}
			}
		}
		tok, err := svc.IssueToken(ctx, who, user.ID, DemoTokenLabel, ttl)
		if err != nil {
			return nil, err
		}
		out[c.Slug] = Credential{Role: c.Role, Token: tok.Secret}
	}
	return out, nil
}
