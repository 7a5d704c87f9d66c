package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
	"github.com/chipgate/chipgate/internal/store"
)

// buyer is a demo buyer's application and its first orders.
type buyer struct {
	slug, legal, chinese string
	country              string
	class                domain.BuyerClass
	endUse               string
	powerMW              float64
	cloud                bool
	volume               int64 // requested per year, and the license quantity
	order                int64 // units ordered at load
}

var buyers = []buyer{
	{"us-cloud-a", "US Cloud A, Inc.", "", "US", domain.ClassCloud, "commercial_ai", 400, true, 300000, 200000},
	{"us-cloud-b", "US Cloud B, LLC", "", "US", domain.ClassCloud, "commercial_ai", 300, true, 200000, 150000},
	{"eu-research", "European AI Research Consortium", "", "DE", domain.ClassResearch, "research", 30, false, 20000, 5000},
	{"bytedance", "Beijing ByteDance Technology Co., Ltd.", "北京字节跳动科技有限公司", "CN", domain.ClassPlatform, "commercial_ai", 250, true, 150000, 60000},
	{"alibaba", "Alibaba Cloud Computing Co., Ltd.", "阿里云计算有限公司", "CN", domain.ClassPlatform, "cloud_service", 250, true, 150000, 50000},
	{"tencent", "Shenzhen Tencent Computer Systems Co., Ltd.", "深圳市腾讯计算机系统有限公司", "CN", domain.ClassPlatform, "commercial_ai", 150, true, 100000, 30000},
	{"deepcurrent-ai", "DeepCurrent AI (Hangzhou) Co., Ltd.", "深流智能(杭州)有限公司", "CN", domain.ClassSME, "commercial_ai", 8, false, 5000, 2000},
	{"cn-university-lab", "University AI Laboratory", "大学人工智能实验室", "CN", domain.ClassResearch, "research", 4, false, 2000, 1000},
}

// actor returns the demo actor of a party: its first user.
func actor(ctx context.Context, svc *service.Service, slug string) (domain.Actor, error) {
	var who domain.Actor
	err := svc.Store().View(ctx, func(tx store.Tx) error {
		p, err := tx.PartyBySlug(ctx, slug)
		if err != nil {
			return err
		}
		us, err := tx.Users(ctx, p.ID)
		if err != nil {
			return err
		}
		if len(us) == 0 {
			return fmt.Errorf("demo: party %s has no user", slug)
		}
		who = domain.Actor{UserID: us[0].ID, UserName: us[0].Name, PartyID: p.ID, PartySlug: p.Slug, Role: p.Role, Duties: us[0].Duties}
		return nil
	})
	return who, err
}

// siteAddress is every demo buyer's one data center.
const siteAddress = "Data center 1, Compute Campus"

// LoadStory runs the program's first months on a demo database: the buyers
// apply and are screened, the export authority approves them with
// licenses, China's regulators hold a demand hearing and grant permits, the
// buyers place their first orders, decided under the rules in force now;
// then the first shipments take the road (see LoadShipments). Each part
// does nothing when its records exist already (applications, shipments), so
// that a restart adds nothing.
func LoadStory(ctx context.Context, svc *service.Service) error {
	if err := loadFirstMonths(ctx, svc); err != nil {
		return err
	}
	return LoadShipments(ctx, svc)
}

// loadFirstMonths runs the story up to the first orders and the vendor's
// allocation run. It does nothing when applications exist already.
func loadFirstMonths(ctx context.Context, svc *service.Service) error {
	exists := false
	if err := svc.Store().View(ctx, func(tx store.Tx) error {
		docs, err := tx.ListDocs(ctx, store.KindApplication, store.DocFilter{Limit: 1})
		exists = len(docs) > 0
		return err
	}); err != nil || exists {
		return err
	}
	bis, err := actor(ctx, svc, "us-commerce")
	if err != nil {
		return err
	}
	mofcom, err := actor(ctx, svc, "cn-mofcom")
	if err != nil {
		return err
	}
	now := svc.Now()
	from, until := now.AddDate(0, -1, 0).Format(time.DateOnly), now.AddDate(1, 0, 0).Format(time.DateOnly)
	hearing, err := svc.OpenHearing(ctx, mofcom, service.HearingRequest{Title: "H200 demand for the coming year", Product: "h200",
		PeriodStart: now.Format(time.DateOnly), PeriodEnd: until})
	if err != nil {
		return fmt.Errorf("demo: hearing: %w", err)
	}
	for _, b := range buyers {
		who, err := actor(ctx, svc, b.slug)
		if err != nil {
			return err
		}
		site := domain.Site{Address: siteAddress, Country: b.country, PowerMW: b.powerMW, CloudService: b.cloud}
		if b.slug == "bytedance" {
			// Its site's coordinates: what attested check-ins are measured
			// against (docs/TELEMETRY.md).
			lat, lon := beijing[0], beijing[1]
			site.Lat, site.Lon = &lat, &lon
		}
		app, err := svc.SubmitApplication(ctx, who, service.ApplicationRequest{
			LegalName: b.legal, ChineseName: b.chinese, Country: b.country, Registered: "2012-03-09",
			Addresses: []string{"1 Compute Campus Road, " + b.country}, BusinessType: b.class, Sector: "private",
			EndUses: []string{b.endUse}, KYCAttested: true, Volumes: map[string]int64{"h200": b.volume},
			Sites: []domain.Site{site},
		})
		if err != nil {
			return fmt.Errorf("demo: application of %s: %w", b.slug, err)
		}
		if app.Status != domain.AppSubmitted {
			return fmt.Errorf("demo: application of %s is %s after screening", b.slug, app.Status)
		}
		if _, _, err := svc.DecideApplication(ctx, bis, app.ID, service.ApplicationDecision{Decision: "approve", Licenses: []service.LicenseGrant{{
			Vendor: "nvidia", Products: []string{"h200"}, Quantity: b.volume, ValidFrom: from, ValidUntil: until,
			Conditions: []string{`end_use != "military"`},
		}}}); err != nil {
			return fmt.Errorf("demo: approval of %s: %w", b.slug, err)
		}
		if b.country == "CN" {
			if _, err := svc.FileDemand(ctx, who, hearing.ID, service.FilingRequest{Units: b.volume * 2, Uses: []string{b.endUse}}); err != nil {
				return fmt.Errorf("demo: filing of %s: %w", b.slug, err)
			}
			if _, err := svc.DecidePermit(ctx, mofcom, service.PermitRequest{Buyer: b.slug, Decision: "grant", Products: []string{"h200"},
				Quantity: b.volume, ValidFrom: from, ValidUntil: until, ExcludedSectors: []string{"soe"}}); err != nil {
				return fmt.Errorf("demo: permit of %s: %w", b.slug, err)
			}
		}
	}
	// One application waits in the export authority's queue: a start-up's
	// Shenzhen affiliate with a listed minority owner (a potential match).
	dc, err := actor(ctx, svc, "deepcurrent-ai")
	if err != nil {
		return err
	}
	if _, err := svc.SubmitApplication(ctx, dc, service.ApplicationRequest{
		LegalName: "DeepCurrent AI (Shenzhen) Co., Ltd.", ChineseName: "深流智能(深圳)有限公司", Country: "CN", Registered: "2023-04-11",
		Addresses: []string{"1 Compute Campus Road, Shenzhen"}, BusinessType: domain.ClassSME, Sector: "private",
		Owners:  []domain.Owner{{Party: "deepcurrent-ai", Share: 80}, {Name: "Huawei Technologies Co., Ltd.", Country: "CN", Share: 20}},
		EndUses: []string{"commercial_ai"}, KYCAttested: true, Volumes: map[string]int64{"h200": 3000},
		Sites: []domain.Site{{Address: "Data center 2, Nanshan", Country: "CN", PowerMW: 5, CloudService: false}},
	}); err != nil {
		return fmt.Errorf("demo: pending application: %w", err)
	}
	// US customers order first: China's share is capped against theirs.
	for _, b := range buyers {
		who, err := actor(ctx, svc, b.slug)
		if err != nil {
			return err
		}
		if _, err := svc.PlaceOrder(ctx, who, service.OrderRequest{Product: "h200", Quantity: b.order,
			Period: now.AddDate(0, 1, 0).Format(time.DateOnly), EndUse: b.endUse}); err != nil {
			return fmt.Errorf("demo: order of %s: %w", b.slug, err)
		}
	}
	// The vendor plans the year, so buyers see their supply outlook.
	nvidia, err := actor(ctx, svc, "nvidia")
	if err != nil {
		return err
	}
	if _, err := svc.RunAllocation(ctx, nvidia, service.AllocationRunRequest{}); err != nil {
		return fmt.Errorf("demo: allocation run: %w", err)
	}
	return nil
}
