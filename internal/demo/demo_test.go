package demo_test

import (
	"context"
	"testing"

	"github.com/chipgate/chipgate/internal/demo"
	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/policy"
	"github.com/chipgate/chipgate/internal/screening"
	"github.com/chipgate/chipgate/internal/screening/fallback"
	"github.com/chipgate/chipgate/internal/service"
	"github.com/chipgate/chipgate/internal/store/storetest"
	"github.com/chipgate/chipgate/policies"
)

func TestLoadIsIdempotentAndTheStoryDecides(t *testing.T) {
	st, _ := storetest.OpenSQLite(t)
	pol, err := policy.Load("default.yaml", policies.Default)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := fallback.Load()
	if err != nil {
		t.Fatal(err)
	}
	svc := service.New(st, service.Options{Policy: pol, Screening: screening.NewIndex(ds.Entities)})
	ctx := context.Background()
	for i, want := range []int{len(demo.Cast), 0} {
		created, err := demo.Load(ctx, svc)
		if err != nil || created != want {
			t.Fatalf("load %d: created %d, %v; want %d", i, created, err, want)
		}
		if err := demo.LoadStory(ctx, svc); err != nil {
			t.Fatalf("story %d: %v", i, err)
		}
	}
	orders, err := svc.Orders(ctx, domain.SystemActor, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(orders) != 8 {
		t.Fatalf("%d orders after two loads, want 8", len(orders))
	}
	for _, o := range orders {
		if o.Status != domain.OrderAccepted {
			t.Errorf("%s's demo order is %s: %+v", o.Buyer, o.Status, o.Decision)
		}
	}
	queue, err := svc.ReviewQueue(ctx, domain.SystemActor)
	if err != nil || len(queue) != 1 || queue[0].Screening.Status != "potential_match" {
		t.Fatalf("review queue: %d applications, %v", len(queue), err)
	}
	outlook, err := svc.Outlook(ctx, domain.Actor{Role: domain.RoleBuyer, PartySlug: "bytedance"})
	if err != nil || len(outlook.Orders) != 1 || outlook.Orders[0].Promised == 0 {
		t.Fatalf("bytedance's outlook: %+v, %v", outlook.Orders, err)
	}
	lots, err := svc.Lots(ctx, domain.SystemActor, "h200")
	if err != nil || len(lots) != 52 {
		t.Fatalf("%d lots, %v", len(lots), err)
	}
}
