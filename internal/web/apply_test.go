package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chipgate/chipgate/internal/chipgatetest"
	"github.com/chipgate/chipgate/internal/demo"
	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
)

// TestBuyerAppliesInTheDashboard: defect — a buyer could not apply,
// answer an information request or resubmit in the UI (API only), and saw
// `info_requested` without the question or a denial without its reason. A
// new buyer applies from its page; bad answers come back beside their
// fields with what it typed kept; the authority's question is shown with
// the answers to correct, and the resubmission goes back to the authority;
// a denial shows its reason.
func TestBuyerAppliesInTheDashboard(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sys := domain.SystemActor
	if _, err := e.svc.CreateParty(ctx, sys, service.PartyRequest{Slug: "freshco", Name: "FreshCo AI (Shenzhen) Ltd.", Role: domain.RoleBuyer, Country: "CN", Class: domain.ClassSME}); err != nil {
		t.Fatal(err)
	}
	u, err := e.svc.CreateUser(ctx, sys, service.UserRequest{Party: "freshco", Name: "freshco officer", Duties: domain.AllDuties})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := e.svc.IssueToken(ctx, sys, u.ID, "test", chipgatetest.TokenTTL)
	if err != nil {
		t.Fatal(err)
	}
	e.creds["freshco"] = demo.Credential{Role: domain.RoleBuyer, Token: tok.Secret}
	b := e.browser()
	csrf := b.signIn("freshco")

	home := b.get("/buyer")
	if !strings.Contains(home.body, `href="/buyer/application"`) || !strings.Contains(home.body, "Apply to become a customer") {
		t.Fatalf("a buyer without an application is not offered to apply:\n%s", home.body)
	}
	form := b.get("/buyer/application")
	if form.status != http.StatusOK || !strings.Contains(form.body, `action="/buyer/applications"`) {
		t.Fatalf("GET /buyer/application: %d\n%s", form.status, form.body)
	}
	good := url.Values{"csrf": {csrf}, "legal_name": {"FreshCo AI (Shenzhen) Ltd."}, "country": {"cn"}, "registration_date": {"2022-03-01"},
		"addresses": {"1 Keyuan Road, Shenzhen\n2 Nanshan Avenue, Shenzhen"}, "business_type": {"sme"}, "sector": {"private"},
		"end_uses": {"commercial_ai"}, "kyc_remote_access": {"on"},
		"owner_name_0": {"Founders"}, "owner_country_0": {"CN"}, "owner_share_0": {"100"},
		"site_address_1": {"Data hall 3, Qianhai"}, "site_country_1": {"CN"}, "site_power_mw_1": {"12.5"},
		"volume_h200": {"2,000"}, "party_banks_name_1": {"Bank of Shenzhen"}, "party_banks_country_1": {"CN"}}

	t.Run("ErrFieldsBesideTheirInputs", func(t *testing.T) {
		bad := url.Values{}
		for k, v := range good {
			bad[k] = v
		}
		bad.Set("country", "China")
		bad.Set("owner_share_0", "all of it")
		bad.Set("site_power_mw_1", "lots")
		bad.Set("volume_h200", "-5")
		bad.Set("party_end_users_name_0", "Lab of a university") // no country
		r := b.post("/buyer/applications", bad)
		if r.status != http.StatusUnprocessableEntity {
			t.Fatalf("bad application: %d\n%s", r.status, r.body)
		}
		body := html.UnescapeString(r.body)
		for _, want := range []string{
			`id="owner_share_0" name="owner_share_0" inputmode="decimal" value="all of it" aria-invalid="true"`,
			`Owner 1, Share (%): must be a percentage`,
			// The second site row is the first site sent: its refusal is
			// shown in the row it was typed in.
			`Site 2, Power (MW): must be a number of megawatts`,
			`id="site_power_mw_1" name="site_power_mw_1" inputmode="decimal" value="lots" aria-invalid="true"`,
			`value="-5" aria-invalid="true"`,
			`value="FreshCo AI (Shenzhen) Ltd."`, // what was typed is kept
			`value="Lab of a university"`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("the refused form lacks %q", want)
			}
		}
		if apps, err := e.svc.Applications(ctx, e.actor("freshco"), nil); err != nil || len(apps) != 0 {
			t.Fatalf("a refused form filed %d applications (%v)", len(apps), err)
		}
		// The service's own refusal (a country that is no ISO code) is
		// shown beside its field too.
		bad = url.Values{}
		for k, v := range good {
			bad[k] = v
		}
		bad.Set("country", "China")
		r = b.post("/buyer/applications", bad)
		body = html.UnescapeString(r.body)
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(body, `id="country" name="country" type="text" required value="China" aria-invalid="true"`) ||
			!strings.Contains(body, "must be an ISO 3166-1 alpha-2 code") {
			t.Fatalf("a bad country: %d\n%s", r.status, body)
		}
	})

	var id domain.ID
	t.Run("Apply", func(t *testing.T) {
		r := b.post("/buyer/applications", good)
		if r.status != http.StatusOK || !strings.Contains(r.body, "Your application was received") {
			t.Fatalf("apply: %d\n%s", r.status, r.body)
		}
		apps, err := e.svc.Applications(ctx, e.actor("freshco"), nil)
		if err != nil || len(apps) != 1 {
			t.Fatalf("%d applications (%v)", len(apps), err)
		}
		a := apps[0]
		id = a.ID
		if a.Country != "CN" || len(a.Addresses) != 2 || len(a.Owners) != 1 || a.Owners[0].Share != 100 || len(a.Sites) != 1 ||
			a.Sites[0].PowerMW != 12.5 || a.Volumes["h200"] != 2000 || !a.KYCAttested || a.Status != domain.AppSubmitted ||
			len(a.Banks) != 1 || a.Banks[0].Name != "Bank of Shenzhen" {
			t.Fatalf("filed %+v", a)
		}
		page := b.get("/buyer/application")
		if !strings.Contains(page.body, "<strong>submitted</strong>") || !strings.Contains(page.body, "The export authority is reviewing it") || strings.Contains(page.body, `id="apply-form"`) {
			t.Fatalf("a submitted application offers a form again or hides its status:\n%s", page.body)
		}
	})

	t.Run("AnswerTheQuestion", func(t *testing.T) {
		question := "What will the Qianhai data hall serve, and who are its tenants?"
		if _, _, err := e.svc.DecideApplication(ctx, e.actor("us-commerce"), id, service.ApplicationDecision{Decision: "request_info", Reason: question}); err != nil {
			t.Fatal(err)
		}
		home := b.get("/buyer")
		if !strings.Contains(html.UnescapeString(home.body), question) || !strings.Contains(home.body, "answer it") {
			t.Fatalf("the buyer's page does not show the authority's question")
		}
		page := b.get("/buyer/application")
		body := html.UnescapeString(page.body)
		if !strings.Contains(body, question) || !strings.Contains(page.body, `action="/buyer/applications/`+id.String()+`"`) ||
			!strings.Contains(body, `value="Data hall 3, Qianhai"`) || !strings.Contains(body, `name="party_banks_name_0" value="Bank of Shenzhen"`) {
			t.Fatalf("the question's page lacks the question, the resubmit form or the stored answers:\n%s", body)
		}
		answer := url.Values{"csrf": {csrf}}
		for k, v := range good {
			answer[k] = v
		}
		answer.Set("end_uses", "commercial_ai\ncloud_services")
		r := b.post("/buyer/applications/"+id.String(), answer)
		if r.status != http.StatusOK {
			t.Fatalf("resubmit: %d\n%s", r.status, r.body)
		}
		a, err := e.svc.Application(ctx, e.actor("freshco"), id)
		if err != nil || a.Status != domain.AppSubmitted || len(a.EndUses) != 2 {
			t.Fatalf("resubmitted: %s %v (%v)", a.Status, a.EndUses, err)
		}
		// Sending it again now is a conflict shown on the form, not a 500.
		if r := b.post("/buyer/applications/"+id.String(), answer); r.status != http.StatusConflict {
			t.Fatalf("a second resubmission: %d", r.status)
		}
	})

	t.Run("DenialShowsItsReason", func(t *testing.T) {
		reason := "The declared end user could not be verified."
		if _, _, err := e.svc.DecideApplication(ctx, e.actor("us-commerce"), id, service.ApplicationDecision{Decision: "deny", Reason: reason}); err != nil {
			t.Fatal(err)
		}
		home := html.UnescapeString(b.get("/buyer").body)
		if !strings.Contains(home, reason) || !strings.Contains(home, "Read the reason and apply again") {
			t.Fatal("the buyer's page does not show the denial's reason")
		}
		page := b.get("/buyer/application")
		if !strings.Contains(html.UnescapeString(page.body), reason) || !strings.Contains(page.body, `action="/buyer/applications"`) {
			t.Fatalf("after a denial the page shows no reason or no new application form")
		}
	})

	t.Run("ErrAnotherBuyersApplication", func(t *testing.T) {
		other := e.browser()
		c := other.signIn("bytedance")
		answer := url.Values{}
		for k, v := range good {
			answer[k] = v
		}
		answer.Set("csrf", c)
		if r := other.post("/buyer/applications/"+e.pending.ID.String(), answer); r.status != http.StatusNotFound {
			t.Fatalf("resubmitting newco's application as bytedance: %d\n%s", r.status, r.body)
		}
	})
}
