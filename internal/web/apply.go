package web

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
)

// The buyer's application page: apply to become an approved customer, read
// the export authority's question or decision, and answer a question (or
// correct a blocked application) by resubmitting it. The form has a fixed
// number of owner and site rows; blank rows are ignored.
const (
	applyOwnerRows = 4
	applySiteRows  = 5
	applyPartyRows = 2 // of each kind of transaction party
)

// transactionKinds are the kinds of transaction party the form asks for,
// by their request field, with their legend (a catalog key).
var transactionKinds = []struct{ Kind, Legend string }{
	{"consignees", "Consignees (who receives the chips, if not you; optional)"},
	{"end_users", "End users (who uses the chips, if not you; optional)"},
	{"forwarders", "Freight forwarders (optional)"},
	{"banks", "Banks that pay for the chips (optional)"},
}

// partyKind is one kind of transaction party in the form, with its rows.
type partyKind struct {
	Kind, Legend string
	Rows         []formRow
}

// applyData is the application page.
type applyData struct {
	// Current is the buyer's latest application, if any; Mode says what
	// the page offers for it.
	Current *domain.Application
	Mode    applyMode
	// Asked is the authority's latest word on Current (its question, its
	// denial's reason), if it gave one.
	Asked *domain.Note
	// Action is where the form posts.
	Action string
	// The form: as sent after an error, else Current's answers (or blank).
	Form    url.Values
	Owners  []formRow
	Sites   []formRow
	Volumes []volumeRow
	// Parties are the consignees, end users, forwarders and banks.
	Parties []partyKind
	// Errs are the service's refusals by form field name.
	Errs    map[string]string
	Classes []domain.BuyerClass
}

// applyMode is what the application page lets the buyer do.
type applyMode string

const (
	applyNew      applyMode = "new"      // no application in force: file one
	applyAnswer   applyMode = "answer"   // the authority asked, or screening blocked it: resubmit
	applyWaiting  applyMode = "waiting"  // submitted: the authority decides
	applyCustomer applyMode = "customer" // approved, suspended or revoked: nothing to file
)

// formRow is one owner or site row of the form: its index and the error
// of each of its fields.
type formRow struct {
	I    int
	Errs map[string]string
}

// volumeRow is a product's requested yearly volume.
type volumeRow struct {
	Product domain.Product
	Err     string
}

func (d *applyData) keepForm(f url.Values) { d.Form = f }

// applyView builds the application page.
func (h *handler) applyView(ctx context.Context, who domain.Actor, _ *http.Request) (*view, error) {
	l := localeIn(ctx)
	apps, err := h.svc.Applications(ctx, who, nil)
	if err != nil {
		return nil, err
	}
	products, err := h.svc.Products(ctx, who)
	if err != nil {
		return nil, err
	}
	d := &applyData{Mode: applyNew, Action: "/buyer/applications", Errs: map[string]string{}, Classes: domain.BuyerClasses}
	if len(apps) > 0 {
		a := apps[len(apps)-1]
		d.Current = &a
		switch a.Status {
		case domain.AppInfoRequested, domain.AppBlocked:
			d.Mode, d.Action = applyAnswer, "/buyer/applications/"+a.ID.String()
		case domain.AppSubmitted:
			d.Mode = applyWaiting
		case domain.AppApproved, domain.AppSuspended, domain.AppRevoked:
			d.Mode = applyCustomer
		}
		d.Asked = authorityNote(who, a)
		if d.Mode == applyAnswer {
			d.Form = applicationForm(a)
		}
	}
	for i := range applyOwnerRows {
		d.Owners = append(d.Owners, formRow{I: i, Errs: map[string]string{}})
	}
	for _, k := range transactionKinds {
		pk := partyKind{Kind: k.Kind, Legend: k.Legend}
		for i := range applyPartyRows {
			pk.Rows = append(pk.Rows, formRow{I: i, Errs: map[string]string{}})
		}
		d.Parties = append(d.Parties, pk)
	}
	for i := range applySiteRows {
		d.Sites = append(d.Sites, formRow{I: i, Errs: map[string]string{}})
	}
	for _, p := range products {
		d.Volumes = append(d.Volumes, volumeRow{Product: p})
	}
	title := "Apply to become a customer"
	switch d.Mode {
	case applyAnswer:
		title = "Answer the export authority"
	case applyWaiting, applyCustomer:
		title = "Your application"
	}
	return &view{Title: l.T(title), Data: d}, nil
}

// applicationForm is an application's answers as the form's fields.
func applicationForm(a domain.Application) url.Values {
	f := url.Values{}
	f.Set("legal_name", a.LegalName)
	f.Set("chinese_name", a.ChineseName)
	f.Set("aliases", strings.Join(a.Aliases, "\n"))
	f.Set("country", a.Country)
	f.Set("parent_country", a.ParentCountry)
	f.Set("registration_date", a.Registered)
	f.Set("addresses", strings.Join(a.Addresses, "\n"))
	f.Set("business_type", string(a.BusinessType))
	f.Set("sector", a.Sector)
	f.Set("end_uses", strings.Join(a.EndUses, "\n"))
	if a.KYCAttested {
		f.Set("kyc_remote_access", "on")
	}
	for i, o := range a.Owners {
		k := func(field string) string { return fmt.Sprintf("owner_%s_%d", field, i) }
		f.Set(k("party"), o.Party)
		f.Set(k("name"), o.Name)
		f.Set(k("country"), o.Country)
		f.Set(k("share"), strconv.FormatFloat(o.Share, 'f', -1, 64))
	}
	for i, s := range a.Sites {
		k := func(field string) string { return fmt.Sprintf("site_%s_%d", field, i) }
		f.Set(k("address"), s.Address)
		f.Set(k("country"), s.Country)
		f.Set(k("power_mw"), strconv.FormatFloat(s.PowerMW, 'f', -1, 64))
		if s.CloudService {
			f.Set(k("cloud"), "on")
		}
	}
	for _, k := range a.TransactionParties() {
		for i, tp := range k.Parties {
			f.Set(fmt.Sprintf("party_%s_name_%d", k.Field, i), tp.Name)
			f.Set(fmt.Sprintf("party_%s_country_%d", k.Field, i), tp.Country)
			f.Set(fmt.Sprintf("party_%s_address_%d", k.Field, i), tp.Address)
		}
	}
	for p, v := range a.Volumes {
		f.Set("volume_"+p, strconv.FormatInt(v, 10))
	}
	return f
}

// applicationRequest reads the application form. A field the form cannot
// read (a share that is no number) is an error of the request's own path,
// so that it shows beside its field like the service's refusals. rowOf maps
// the request's owner and site indexes back to the form's rows.
func applicationRequest(f url.Values, products []domain.Product) (in service.ApplicationRequest, rowOf map[string]int, pr domain.Problems) {
	lines := func(name string) []string {
		var out []string
		for l := range strings.SplitSeq(strings.ReplaceAll(f.Get(name), ",\n", "\n"), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				out = append(out, l)
			}
		}
		return out
	}
	in = service.ApplicationRequest{LegalName: strings.TrimSpace(f.Get("legal_name")), ChineseName: strings.TrimSpace(f.Get("chinese_name")),
		Aliases: lines("aliases"), Country: strings.ToUpper(strings.TrimSpace(f.Get("country"))),
		ParentCountry: strings.ToUpper(strings.TrimSpace(f.Get("parent_country"))), Registered: strings.TrimSpace(f.Get("registration_date")),
		Addresses: lines("addresses"), BusinessType: domain.BuyerClass(f.Get("business_type")), Sector: strings.TrimSpace(f.Get("sector")),
		EndUses: lines("end_uses"), KYCAttested: f.Get("kyc_remote_access") == "on", Volumes: map[string]int64{}}
	rowOf = map[string]int{}
	// number reads a decimal; msg (a catalog key) is its refusal.
	number := func(path, name, msg string) float64 {
		s := strings.TrimSpace(f.Get(name))
		if s == "" {
			return 0
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			pr.Add(path, "%s", msg)
		}
		return v
	}
	for row := range applyOwnerRows {
		k := func(field string) string { return fmt.Sprintf("owner_%s_%d", field, row) }
		o := domain.Owner{Party: strings.TrimSpace(f.Get(k("party"))), Name: strings.TrimSpace(f.Get(k("name"))),
			Country: strings.ToUpper(strings.TrimSpace(f.Get(k("country"))))}
		if o.Party == "" && o.Name == "" && o.Country == "" && strings.TrimSpace(f.Get(k("share"))) == "" {
			continue
		}
		path := fmt.Sprintf("owners[%d]", len(in.Owners))
		rowOf[path] = row
		o.Share = number(path+".share", k("share"), "must be a percentage such as 25 or 12.5")
		in.Owners = append(in.Owners, o)
	}
	for row := range applySiteRows {
		k := func(field string) string { return fmt.Sprintf("site_%s_%d", field, row) }
		s := domain.Site{Address: strings.TrimSpace(f.Get(k("address"))), Country: strings.ToUpper(strings.TrimSpace(f.Get(k("country")))),
			CloudService: f.Get(k("cloud")) == "on"}
		if s.Address == "" && s.Country == "" && strings.TrimSpace(f.Get(k("power_mw"))) == "" {
			continue
		}
		path := fmt.Sprintf("sites[%d]", len(in.Sites))
		rowOf[path] = row
		s.PowerMW = number(path+".power_mw", k("power_mw"), "must be a number of megawatts such as 40 or 12.5")
		in.Sites = append(in.Sites, s)
	}
	for _, k := range transactionKinds {
		var tps []domain.TransactionParty
		for row := range applyPartyRows {
			get := func(field string) string {
				return strings.TrimSpace(f.Get(fmt.Sprintf("party_%s_%s_%d", k.Kind, field, row)))
			}
			tp := domain.TransactionParty{Name: get("name"), Country: strings.ToUpper(get("country")), Address: get("address")}
			if tp == (domain.TransactionParty{}) {
				continue
			}
			rowOf[fmt.Sprintf("%s[%d]", k.Kind, len(tps))] = row
			tps = append(tps, tp)
		}
		switch k.Kind {
		case "consignees":
			in.Consignees = tps
		case "end_users":
			in.EndUsers = tps
		case "forwarders":
			in.Forwarders = tps
		case "banks":
			in.Banks = tps
		}
	}
	for _, p := range products {
		s := strings.TrimSpace(f.Get("volume_" + p.Slug))
		if s == "" {
			continue
		}
		v, err := strconv.ParseInt(strings.ReplaceAll(s, ",", ""), 10, 64)
		if err != nil || v < 1 {
			pr.Add("requested_volumes."+p.Slug, "%s", "must be a whole number of units, at least 1")
			continue
		}
		in.Volumes[p.Slug] = v
	}
	return in, rowOf, pr
}

// submitApplication files a new application from the form.
func (h *handler) submitApplication(w http.ResponseWriter, r *http.Request, who domain.Actor, csrf string) {
	h.sendApplication(w, r, who, csrf, nil)
}

// resubmitApplication answers the authority's question (or corrects a
// blocked application) by sending the application again.
func (h *handler) resubmitApplication(w http.ResponseWriter, r *http.Request, who domain.Actor, csrf string) {
	id, err := domain.ParseID(r.PathValue("id"))
	if err != nil {
		h.renderError(w, r, http.StatusNotFound, "There is no such application.")
		return
	}
	h.sendApplication(w, r, who, csrf, &id)
}

// sendApplication submits (id nil) or resubmits the form's application and
// shows the buyer's page with its status, or the form again with each
// refusal beside its field.
func (h *handler) sendApplication(w http.ResponseWriter, r *http.Request, who domain.Actor, csrf string, id *domain.ID) {
	products, err := h.svc.Products(r.Context(), who)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	in, rowOf, pr := applicationRequest(r.PostForm, products)
	var a domain.Application
	err = pr.Err()
	switch {
	case err != nil:
	case id == nil:
		a, err = h.svc.SubmitApplication(r.Context(), who, in)
	default:
		a, err = h.svc.ResubmitApplication(r.Context(), who, *id, in)
	}
	if err != nil {
		switch domain.ErrorCode(err) {
		case domain.EINVALID, domain.ECONFLICT, domain.ENOTFOUND:
			h.applyAgain(w, r, who, csrf, err, rowOf)
		default:
			h.fail(w, r, err)
		}
		return
	}
	h.buyerRender(w, r, who, csrf, http.StatusOK, nil, applicationNotice(localeIn(r.Context()), a))
}

// applicationNotice tells the buyer where its application stands.
func applicationNotice(l *locale, a domain.Application) string {
	if a.Status == domain.AppBlocked {
		return l.T("Your application was received. It is held for the export authority's review of its screening; you will be told its decision.")
	}
	return l.T("Your application was received and screened; the export authority will decide on it.")
}

// applyAgain shows the application form as sent, with the service's
// refusal: each field's message beside it, the rest at the top.
func (h *handler) applyAgain(w http.ResponseWriter, r *http.Request, who domain.Actor, csrf string, err error, rowOf map[string]int) {
	v, verr := h.applyView(r.Context(), who, r)
	if verr != nil {
		h.fail(w, r, verr)
		return
	}
	d := v.Data.(*applyData)
	d.keepForm(r.PostForm)
	l := localeIn(r.Context())
	var general []string
	for _, fe := range domain.ErrorFields(err) {
		if !d.placeError(fe.Path, l.message(fe.Message), rowOf) {
			general = append(general, l.FieldName(fe.Path)+l.T(": ")+l.message(fe.Message))
		}
	}
	msg := l.ErrText(err)
	if len(domain.ErrorFields(err)) > 0 {
		msg = l.T("Please correct the fields marked below.")
		if len(general) > 0 {
			msg += " " + strings.Join(general, l.T("; "))
		}
	}
	v.Who, v.CSRF, v.Error = &who, csrf, msg
	status := http.StatusUnprocessableEntity
	switch domain.ErrorCode(err) {
	case domain.ECONFLICT:
		status = http.StatusConflict
	case domain.ENOTFOUND:
		status = http.StatusNotFound
	}
	h.render(w, r, status, "apply", v)
}

// placeError puts a field's refusal beside its field: a top-level field by
// its name, an owner's or a site's in its row, a volume beside its product.
// It reports whether the path names a field of the form.
func (d *applyData) placeError(path, msg string, rowOf map[string]int) bool {
	if p, ok := strings.CutPrefix(path, "requested_volumes."); ok {
		for i := range d.Volumes {
			if d.Volumes[i].Product.Slug == p {
				d.Volumes[i].Err = msg
				return true
			}
		}
		return false
	}
	if item, field, ok := strings.Cut(path, "."); ok {
		row, known := rowOf[item]
		if !known {
			return false
		}
		rows := d.Sites
		kind := item[:strings.IndexByte(item+"[", '[')]
		if kind == "owners" {
			rows = d.Owners
		}
		for _, pk := range d.Parties {
			if pk.Kind == kind {
				rows = pk.Rows
			}
		}
		if field == "lon" {
			field = "lat"
		}
		rows[row].Errs[field] = msg
		return true
	}
	if i := strings.IndexByte(path, '['); i > 0 {
		path = path[:i] // aliases[2], addresses[0]: the list's field
	}
	if slices.Contains([]string{"legal_name", "chinese_name", "aliases", "country", "parent_country", "registration_date",
		"addresses", "owners", "business_type", "sector", "end_uses", "sites", "requested_volumes"}, path) {
		d.Errs[path] = msg
		return true
	}
	return false
}

// formField is one labelled input of the application form.
type formField struct {
	Name, Label, Type, Value, Err string
	Required                      bool
}

// field is the template's constructor of a form field of the page: its
// value as sent (or stored) and its refusal.
func field(d *applyData, name, label, typ string, required bool) formField {
	f := formField{Name: name, Label: label, Type: typ, Required: required, Err: d.Errs[name]}
	if d.Form != nil {
		f.Value = d.Form.Get(name)
	}
	return f
}

// invalidIf marks an input invalid when it has a refusal.
func invalidIf(refusal string) template.HTMLAttr {
	if refusal == "" {
		return ""
	}
	return `aria-invalid="true"`
}

// errof is the refusal of a field of the page.
func errof(d *applyData, name string) string { return d.Errs[name] }

// authorityNote is the latest word of the export authority on an
// application (its question, a denial's reason), or nil.
func authorityNote(who domain.Actor, a domain.Application) *domain.Note {
	for i := len(a.Notes) - 1; i >= 0; i-- {
		if n := a.Notes[i]; n.By != who.PartySlug && n.Kind != "hits_reviewed" {
			return &n
		}
	}
	return nil
}
