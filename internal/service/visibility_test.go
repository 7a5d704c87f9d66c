package service_test

import (
	"slices"
	"testing"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
)

// TestImportAuthorityReadsItsJurisdictionOnly: China's import authority
// reads the applications, licenses, orders, shipments, allocations and
// outlook of buyers in China, and none of a US or a German buyer's — not in a list, a page, a
// page asked for that buyer, nor by id — while the export authority reads
// them all.
func TestImportAuthorityReadsItsJurisdictionOnly(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		usApp, _ := e.customer(t, "us-cloud-a", 0)
		usOrder := e.order(t, "us-cloud-a", 100)
		usShip := e.ship(t, usOrder)
		deApp := e.apply(t, "eu-research")
		cnApp, cnLicense := e.customer(t, "bytedance", 1000)
		cnOrder := e.order(t, "bytedance", 10)
		cnShip := e.ship(t, cnOrder)
		cn, us := e.as("cn-mofcom"), e.as("us-commerce")

		apps, err := e.svc.Applications(e.ctx, cn, nil)
		must(t, err)
		if ids := appIDs(apps); !ids[cnApp.ID] || ids[usApp.ID] || ids[deApp.ID] {
			t.Fatalf("China's authority lists applications %v", ids)
		}
		page, err := e.svc.ApplicationsPage(e.ctx, cn, domain.ListQuery{})
		must(t, err)
		if ids := appIDs(page.Items); !ids[cnApp.ID] || ids[usApp.ID] || ids[deApp.ID] {
			t.Fatalf("China's authority pages applications %v", ids)
		}
		page, err = e.svc.ApplicationsPage(e.ctx, cn, domain.ListQuery{Party: "us-cloud-a"})
		must(t, err)
		if len(page.Items) != 0 {
			t.Fatalf("China's authority read %d applications of a US buyer by asking for it", len(page.Items))
		}
		_, err = e.svc.Application(e.ctx, cn, usApp.ID)
		wantCode(t, err, domain.ENOTFOUND)
		_, err = e.svc.Application(e.ctx, cn, deApp.ID)
		wantCode(t, err, domain.ENOTFOUND)
		if _, err := e.svc.Application(e.ctx, cn, cnApp.ID); err != nil {
			t.Fatal(err)
		}

		orders, err := e.svc.Orders(e.ctx, cn, nil)
		must(t, err)
		opage, err := e.svc.OrdersPage(e.ctx, cn, domain.ListQuery{})
		must(t, err)
		for _, os := range [][]domain.Order{orders, opage.Items} {
			seen := map[domain.ID]bool{}
			for _, o := range os {
				seen[o.ID] = true
			}
			if !seen[cnOrder.ID] || seen[usOrder.ID] {
				t.Fatalf("China's authority reads orders %v", seen)
			}
		}
		_, err = e.svc.Order(e.ctx, cn, usOrder.ID)
		wantCode(t, err, domain.ENOTFOUND)
		_, err = e.svc.ReviewOrder(e.ctx, cn, usOrder.ID, "reject", "not ours")
		wantCode(t, err, domain.ENOTFOUND)

		ships, err := e.svc.Shipments(e.ctx, cn)
		must(t, err)
		spage, err := e.svc.ShipmentsPage(e.ctx, cn, domain.ListQuery{})
		must(t, err)
		for _, ss := range [][]domain.ID{shipIDs(ships), shipIDs(spage.Items)} {
			if !slices.Contains(ss, cnShip.ID) || slices.Contains(ss, usShip.ID) {
				t.Fatalf("China's authority reads shipments %v (CN %s, US %s)", ss, cnShip.ID, usShip.ID)
			}
		}

		ls, err := e.svc.Licenses(e.ctx, cn)
		must(t, err)
		for _, l := range ls {
			if l.BuyerID != cnLicense.BuyerID {
				t.Fatalf("China's authority reads license %s of %s", l.Number, l.Buyer)
			}
		}
		if _, err := e.svc.License(e.ctx, cn, cnLicense.ID); err != nil {
			t.Fatal(err)
		}

		// An allocation run and the outlook: China's buyers' part only.
		r, err := e.svc.RunAllocation(e.ctx, e.as("nvidia"), smallRun)
		must(t, err)
		full, err := e.svc.AllocationRunByID(e.ctx, us, r.ID)
		must(t, err)
		part, err := e.svc.AllocationRunByID(e.ctx, cn, r.ID)
		must(t, err)
		if len(full.Problem.Orders) < 2 || len(part.Problem.Orders) == 0 {
			t.Fatalf("run orders: %d in full, %d for China's authority", len(full.Problem.Orders), len(part.Problem.Orders))
		}
		for _, o := range part.Problem.Orders {
			if o.Buyer != "bytedance" {
				t.Fatalf("China's authority reads the run's order of %s", o.Buyer)
			}
		}
		for _, a := range part.Result.Allocations {
			if a.Order == usOrder.ID.String() {
				t.Fatal("China's authority reads the US order's allocations")
			}
		}
		outlook, err := e.svc.Outlook(e.ctx, cn)
		must(t, err)
		for _, b := range outlook.Buyers {
			if b.Buyer != "bytedance" {
				t.Fatalf("China's authority reads the outlook of %s", b.Buyer)
			}
		}
		for _, o := range outlook.Orders {
			if o.Buyer != "bytedance" {
				t.Fatalf("China's authority reads the outlook of %s's order", o.Buyer)
			}
		}

		// The export authority reads everyone's.
		apps, err = e.svc.Applications(e.ctx, us, nil)
		must(t, err)
		if ids := appIDs(apps); !ids[cnApp.ID] || !ids[usApp.ID] || !ids[deApp.ID] {
			t.Fatalf("the export authority lists applications %v", ids)
		}
		if _, err := e.svc.Order(e.ctx, us, usOrder.ID); err != nil {
			t.Fatal(err)
		}
	})
}

func appIDs(as []domain.Application) map[domain.ID]bool {
	out := map[domain.ID]bool{}
	for _, a := range as {
		out[a.ID] = true
	}
	return out
}

func shipIDs(views []service.ShipmentView) []domain.ID {
	out := make([]domain.ID, len(views))
	for i, v := range views {
		out[i] = v.ID
	}
	return out
}
