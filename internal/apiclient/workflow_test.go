package apiclient_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/chipgate/chipgate/internal/apiclient"
	"github.com/chipgate/chipgate/internal/chipgatetest"
	"github.com/chipgate/chipgate/internal/server"
)

// client returns a generated client that sends party's demo token.
func client(t *testing.T, kit *chipgatetest.Env, party string) *apiclient.ClientWithResponses {
	t.Helper()
	c, err := apiclient.NewClientWithResponses(kit.Client.URL, apiclient.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+kit.Creds[party].Token)
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestGeneratedClientWorkflow: with the client generated from
// api/openapi.json, a US buyer applies, places orders, reads one back,
// pages through its orders and cancels one with the documented body; the
// export authority pages through the held queue. Every answer decodes into
// the generated types.
func TestGeneratedClientWorkflow(t *testing.T) {
	ctx := context.Background()
	kit := chipgatetest.New(t)
	kit.Serve(server.Options{RateLimit: -1})
	buyer := client(t, kit, "us-cloud-a")

	site := apiclient.Site{Address: "1 Data Center Road, Ashburn", Country: "US", PowerMw: 200, CloudService: true}
	app, err := buyer.PostApplicationsWithResponse(ctx, nil, apiclient.ApplicationRequest{
		LegalName: "US Cloud A, Inc.", Country: "US", RegistrationDate: "2012-03-09", Addresses: []string{site.Address},
		BusinessType: "cloud", EndUses: []string{"commercial_ai"}, Sites: []apiclient.Site{site}, KycRemoteAccess: true,
		RequestedVolumes: map[string]int64{"h200": 100000},
	})
	if err != nil || app.StatusCode() != 201 || app.JSON201 == nil {
		t.Fatalf("apply: %v %d %s", err, app.StatusCode(), app.Body)
	}

	var placed []apiclient.DomainOrder
	for i := range 5 {
		key := "wf-order-" + string(rune('a'+i))
		o, err := buyer.PostOrdersWithResponse(ctx, &apiclient.PostOrdersParams{IdempotencyKey: &key},
			apiclient.OrderRequest{Product: "h200", Quantity: int64(10 + i), RequestedPeriod: "2026-03-02", EndUse: "commercial_ai"})
		if err != nil || o.StatusCode() != 201 || o.JSON201 == nil {
			t.Fatalf("order %d: %v %d %s", i, err, o.StatusCode(), o.Body)
		}
		if o.HTTPResponse.Header.Get("Location") != "/api/v1/orders/"+o.JSON201.Id.String() {
			t.Fatalf("Location %q", o.HTTPResponse.Header.Get("Location"))
		}
		placed = append(placed, *o.JSON201)
	}

	one, err := buyer.GetOrdersIdWithResponse(ctx, placed[0].Id.String())
	if err != nil || one.JSON200 == nil || one.JSON200.Id != placed[0].Id || one.JSON200.Decision.Outcome == "" || one.HTTPResponse.Header.Get("ETag") == "" {
		t.Fatalf("read back: %v %d %s", err, one.StatusCode(), one.Body)
	}

	// Pages of two, newest first: every order once, newest first.
	limit := 2
	params := &apiclient.GetOrdersParams{Limit: &limit}
	var seen []string
	for pages := 0; ; pages++ {
		p, err := buyer.GetOrdersWithResponse(ctx, params)
		if err != nil || p.JSON200 == nil {
			t.Fatalf("page %d: %v %d %s", pages, err, p.StatusCode(), p.Body)
		}
		for _, o := range p.JSON200.Items {
			seen = append(seen, o.Id.String())
		}
		if p.JSON200.NextCursor == "" {
			break
		}
		cursor := p.JSON200.NextCursor
		params.Cursor = &cursor
	}
	if len(seen) != len(placed) || seen[0] != placed[len(placed)-1].Id.String() || seen[len(seen)-1] != placed[0].Id.String() {
		t.Fatalf("paged through %v; placed %d", seen, len(placed))
	}

	// An out-of-range limit is a problem the client decodes.
	bad := 501
	if p, err := buyer.GetOrdersWithResponse(ctx, &apiclient.GetOrdersParams{Limit: &bad}); err != nil || p.ApplicationproblemJSON422 == nil {
		t.Fatalf("limit 501: %v %d %s", err, p.StatusCode(), p.Body)
	}

	// Cancel with the body the document gives (reason), conditional on
	// the version read.
	tag := one.HTTPResponse.Header.Get("ETag")
	c, err := buyer.PostOrdersIdCancelWithResponse(ctx, placed[0].Id.String(), &apiclient.PostOrdersIdCancelParams{IfMatch: &tag},
		apiclient.ServerReason{Reason: "plans changed"})
	if err != nil || c.JSON200 == nil || c.JSON200.Status != apiclient.Cancelled {
		t.Fatalf("cancel: %v %d %s", err, c.StatusCode(), c.Body)
	}
	again, err := buyer.PostOrdersIdCancelWithResponse(ctx, placed[1].Id.String(), &apiclient.PostOrdersIdCancelParams{IfMatch: &tag},
		apiclient.ServerReason{Reason: "plans changed"})
	if err != nil || again.StatusCode() != http.StatusPreconditionFailed || again.ApplicationproblemJSON412 == nil {
		t.Fatalf("cancel on a stale ETag: %v %d %s", err, again.StatusCode(), again.Body)
	}

	// The reads the issue found undecodable: the policy and the runs.
	vendor := client(t, kit, "nvidia")
	if p, err := vendor.GetPolicyWithResponse(ctx, nil); err != nil || p.JSON200 == nil {
		t.Fatalf("policy: %v %d %.300s", err, p.StatusCode(), p.Body)
	}
	runs, start := 4, "2026-02-02"
	seed := int64(1)
	sims := 5
	run, err := vendor.PostAllocationRunsWithResponse(ctx, nil, apiclient.AllocationRunRequest{Start: &start, Periods: &runs,
		Uncertainty: &apiclient.Uncertainty{Seed: seed, Runs: &sims}})
	if err != nil || run.JSON201 == nil {
		t.Fatalf("allocation run: %v %d %.500s", err, run.StatusCode(), run.Body)
	}
	if l, err := vendor.GetAllocationRunsWithResponse(ctx, nil); err != nil || l.JSON200 == nil || len(l.JSON200.Items) != 1 {
		t.Fatalf("allocation runs: %v %d %.300s", err, l.StatusCode(), l.Body)
	}
	if r, err := vendor.GetAllocationRunsIdWithResponse(ctx, run.JSON201.Id.String()); err != nil || r.JSON200 == nil {
		t.Fatalf("allocation run: %v %d %.300s", err, r.StatusCode(), r.Body)
	}
}
