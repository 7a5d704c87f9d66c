package domain

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// Application is a buyer's request to become an approved customer: who it
// is, who owns it, what it will do with the chips and where.
type Application struct {
	ID      ID `json:"id"`
	BuyerID ID `json:"buyer_id"`
	// Buyer is the buyer party's slug, for readers of the record.
	Buyer         string            `json:"buyer"`
	LegalName     string            `json:"legal_name"`
	ChineseName   string            `json:"chinese_name,omitempty"`
	Aliases       []string          `json:"aliases,omitempty"`
	Country       string            `json:"country"`
	Registered    string            `json:"registration_date"` // YYYY-MM-DD
	Addresses     []string          `json:"addresses"`
	Owners        []Owner           `json:"owners,omitempty"`
	BusinessType  BuyerClass        `json:"business_type"`
	Sector        string            `json:"sector,omitempty"` // private, soe, military, government, …
	EndUses       []string          `json:"end_uses"`
	Sites         []Site            `json:"sites"`
	KYCAttested   bool              `json:"kyc_remote_access"`
	Volumes       map[string]int64  `json:"requested_volumes"` // product slug → units per year
	Status        ApplicationStatus `json:"status"`
	Screening     ScreeningResult   `json:"screening"`
	Flags         []RedFlag         `json:"red_flags"`
	Notes         []Note            `json:"notes,omitempty"`
	SubmittedAt   time.Time         `json:"submitted_at"`
	UpdatedAt     time.Time         `json:"updated_at"`
	LicenseIDs    []ID              `json:"license_ids,omitempty"`
	ParentCountry string            `json:"parent_country,omitempty"` // the ultimate parent's headquarters
	// Notices are the license exceptions' notifications for this buyer as
	// consignee that an authority confirmed (NAC).
	Notices []ExceptionNotice `json:"exception_notices,omitempty"`
	// The other parties to the buyer's transactions, where it declares
	// them: consignees that receive the goods, end users other than the
	// buyer itself, freight forwarders and banks. Each is screened like the
	// buyer, at application, at every list reload (and so at every order,
	// which reads the screening).
	Consignees []TransactionParty `json:"consignees,omitempty"`
	EndUsers   []TransactionParty `json:"end_users,omitempty"`
	Forwarders []TransactionParty `json:"forwarders,omitempty"`
	Banks      []TransactionParty `json:"banks,omitempty"`
}

// PartyScreening is the screening of a registered party that files no
// application but carries or tests the goods (a carrier, a lab): screened
// when a shipment names it and again at every list reload. Every step of a
// shipment reads its holder's and its lab's.
type PartyScreening struct {
	PartyID   ID              `json:"party_id"`
	Party     string          `json:"party"`
	Role      Role            `json:"role"`
	Name      string          `json:"name"`
	Country   string          `json:"country"`
	Screening ScreeningResult `json:"screening"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// TransactionParty is a party to an export transaction other than the
// buyer (EAR § 748.5: consignee, end user, forwarder; and the bank that
// pays): not a registered party, so named by its name, country and,
// optionally, its address.
type TransactionParty struct {
	Name    string `json:"name"`
	Country string `json:"country"`
	Address string `json:"address,omitempty"`
}

// MaxTransactionParties bounds each kind of transaction party an
// application declares.
const MaxTransactionParties = 20

// TransactionParties are an application's declared parties by kind, in a
// fixed order, each with the field that holds them (consignees, end_users,
// forwarders, banks).
func (a *Application) TransactionParties() []PartiesOfKind {
	return []PartiesOfKind{{"consignees", a.Consignees}, {"end_users", a.EndUsers}, {"forwarders", a.Forwarders}, {"banks", a.Banks}}
}

// PartiesOfKind is one kind of an application's transaction parties: the
// field that holds them and the parties.
type PartiesOfKind struct {
	Field   string
	Parties []TransactionParty
}

// ExceptionNotice is a license exception's notification for a consignee
// that the authority of the exception's jurisdiction confirmed (NAC: BIS's
// confirmation number). Orders of its products may then go under the
// exception where the exception covers them; a withdrawn notice serves no
// new order (orders accepted under it keep their grant).
type ExceptionNotice struct {
	Exception    string     `json:"exception"`    // the exception's code: NAC
	Confirmation string     `json:"confirmation"` // the authority's confirmation number
	Jurisdiction string     `json:"jurisdiction"`
	Rule         string     `json:"rule"` // the policy rule of the exception
	Products     []string   `json:"products"`
	By           string     `json:"by"` // the authority's party
	At           time.Time  `json:"at"`
	WithdrawnAt  *time.Time `json:"withdrawn_at,omitempty"`
	WithdrawnBy  string     `json:"withdrawn_by,omitempty"`
	Reason       string     `json:"withdraw_reason,omitempty"`
}

// DrawnGrant is a license or permit an accepted order drew units from.
type DrawnGrant struct {
	Kind         GrantKind `json:"kind"` // license or permit
	Jurisdiction string    `json:"jurisdiction"`
	ID           ID        `json:"id"`
	Number       string    `json:"number"`
	Units        int64     `json:"units"`
}

// Serves reports whether the notice stands for orders of product.
func (n ExceptionNotice) Serves(product string) bool {
	return n.WithdrawnAt == nil && slices.Contains(n.Products, product)
}

// Owner is a holder of a share of a buyer: a registered party, or a name.
type Owner struct {
	Party   string `json:"party,omitempty"` // slug of a registered party
	Name    string `json:"name,omitempty"`
	Country string `json:"country,omitempty"`
	// Share is the owned fraction in percent, 0 < share <= 100.
	Share float64 `json:"share"`
}

// Site is a deployment site of a buyer.
type Site struct {
	Address      string  `json:"address"`
	Country      string  `json:"country"`
	PowerMW      float64 `json:"power_mw"`
	CloudService bool    `json:"cloud_service"`
	// Lat and Lon locate the site, for the latency check of device
	// check-ins; optional.
	Lat *float64 `json:"lat,omitempty"`
	Lon *float64 `json:"lon,omitempty"`
}

// Note is a dated remark by an actor: a reason for a denial, a request for
// information, an answer.
type Note struct {
	At   time.Time `json:"at"`
	By   string    `json:"by"` // party slug
	Kind string    `json:"kind"`
	Text string    `json:"text"`
}

// ScreeningResult is what screening found on an application's names.
type ScreeningResult struct {
	Status string         `json:"status"` // clear, potential_match, match
	Hits   []ScreeningHit `json:"hits,omitempty"`
	At     time.Time      `json:"at"`
}

// ScreeningHit is one listed entity that matched one of the names.
type ScreeningHit struct {
	Query string `json:"query"` // the name screened
	// Via is which of the application's names or parties it was:
	// legal_name, chinese_name, aliases[i], owners[i] (→owners[j] along a
	// chain), consignees[i], end_users[i], forwarders[i], banks[i], or
	// sites[i].address for a site at a listed party's address.
	Via      string   `json:"via"`
	List     string   `json:"list"`
	SourceID string   `json:"source_id"`
	Name     string   `json:"name"`
	Matched  string   `json:"matched"`
	Score    float64  `json:"score"`
	Words    []string `json:"matched_words,omitempty"`
	// Inherited is set when the hit comes from an owner holding at least the
	// affiliates threshold.
	Inherited bool    `json:"inherited,omitempty"`
	Share     float64 `json:"share,omitempty"`
	// Listing fingerprints the listed entity as the list gave it; a review
	// sticks across list reloads until the listing itself changes.
	Listing string `json:"listing"`
	// EntryHash hashes the listed entry's whole content (addresses,
	// programs, identifiers, remarks as well as names): a decision sticks
	// across reloads until it changes.
	EntryHash string `json:"entry_hash,omitempty"`
	// Entry is the listed entry as the officer reviews it.
	Entry *ListEntry `json:"entry,omitempty"`
	// Review is the state of the hit: "" (potential, not yet decided),
	// pending_second (cleared by one officer, waiting for a second),
	// false_positive, confirmed or escalated; ReviewedBy is the officer
	// who made the last decision, ReviewedAt when.
	Review     string     `json:"review,omitempty"`
	ReviewedBy string     `json:"reviewed_by,omitempty"`
	ReviewedAt *time.Time `json:"reviewed_at,omitempty"`
	// Decisions are the officers' decisions on the hit, oldest first.
	Decisions []HitDecision `json:"decisions,omitempty"`
}

// Open reports whether the hit still counts against the party: every
// state but false_positive (a clear waiting for its second officer is not
// a clear yet).
func (h ScreeningHit) Open() bool { return h.Review != HitFalsePositive }

// The states of a screening hit.
const (
	HitPotential     = ""
	HitPendingSecond = "pending_second"
	HitFalsePositive = "false_positive"
	HitConfirmed     = "confirmed"
	HitEscalated     = "escalated"
)

// HitDecision is one officer's decision on a screening hit: the decision,
// a reason from the policy's fixed list (with the rule and source that
// list comes from) and a free-text note.
type HitDecision struct {
	Decision string    `json:"decision"` // false_positive, confirmed or escalated
	Reason   string    `json:"reason"`
	Rule     string    `json:"rule"`
	Source   string    `json:"source"`
	Note     string    `json:"note"`
	Officer  string    `json:"officer"` // the authenticated user's name
	UserID   ID        `json:"user_id"`
	Party    string    `json:"party"`
	At       time.Time `json:"at"`
	// Result is the hit's state after the decision: a first clear of a
	// high-scoring hit gives pending_second.
	Result string `json:"result"`
}

// ListEntry is a listed entity as a screening officer reads it: every
// name, address, program, identifier and remark the lists give, and each
// list's own record of it with its Federal Register citation.
type ListEntry struct {
	Key       string            `json:"key"`
	Type      string            `json:"type,omitempty"`
	Name      string            `json:"name"`
	Aliases   []string          `json:"aliases,omitempty"`
	Addresses []string          `json:"addresses,omitempty"`
	Countries []string          `json:"countries,omitempty"`
	Programs  []string          `json:"programs,omitempty"`
	IDs       []string          `json:"ids,omitempty"`
	Dates     []string          `json:"dates,omitempty"`
	Remarks   string            `json:"remarks,omitempty"`
	Sources   []ListEntrySource `json:"sources"`
}

// ListEntrySource is one list's record of a listed entity.
type ListEntrySource struct {
	List string `json:"list"`
	ID   string `json:"source_id"`
	Name string `json:"name"`
	// Listed is the listing date as the list writes it.
	Listed string `json:"listed,omitempty"`
	// FederalRegister is the Federal Register citation, where the list
	// gives one.
	FederalRegister string   `json:"federal_register,omitempty"`
	Programs        []string `json:"programs,omitempty"`
}

// RedFlag is one diversion red flag with its evidence.
type RedFlag struct {
	Code     string `json:"code"`
	Rule     string `json:"rule,omitempty"`
	Evidence string `json:"evidence"`
}

// ApplicationStatus is a state of the vetting lifecycle.
type ApplicationStatus string

// The vetting lifecycle.
const (
	AppSubmitted     ApplicationStatus = "submitted"      // screened, waiting for the export authority
	AppBlocked       ApplicationStatus = "blocked"        // a screening match stops it
	AppInfoRequested ApplicationStatus = "info_requested" // the authority asked; the buyer resubmits
	AppApproved      ApplicationStatus = "approved"       // an approved customer
	AppDenied        ApplicationStatus = "denied"
	AppSuspended     ApplicationStatus = "suspended"
	AppRevoked       ApplicationStatus = "revoked"
)

// License is an export license: the vendor may ship these products to this
// buyer, up to a quantity, in a window, under conditions.
type License struct {
	ID            ID       `json:"id"`
	Number        string   `json:"number"`
	ApplicationID ID       `json:"application_id"`
	VendorID      ID       `json:"vendor_id"`
	Vendor        string   `json:"vendor"`
	BuyerID       ID       `json:"buyer_id"`
	Buyer         string   `json:"buyer"`
	Products      []string `json:"products"`
	Destinations  []string `json:"destinations,omitempty"`
	Quantity      int64    `json:"quantity"`
	Remaining     int64    `json:"remaining"`
	// Jurisdiction is the regime that issued the license ("us-ear"); it
	// answers only that regime's license requirement.
	Jurisdiction string `json:"jurisdiction,omitempty"`
	// Exported counts the units actually exported under the license; it
	// never exceeds Quantity.
	Exported   int64       `json:"exported"`
	ValidFrom  time.Time   `json:"valid_from"`
	ValidUntil time.Time   `json:"valid_until"`
	Conditions []string    `json:"conditions,omitempty"` // CEL over the order facts
	Status     GrantStatus `json:"status"`
	IssuedAt   time.Time   `json:"issued_at"`
	UpdatedAt  time.Time   `json:"updated_at"`
	Notes      []Note      `json:"notes,omitempty"`
}

// GrantStatus is the state of a license or a permit.
type GrantStatus string

// Grant states.
const (
	GrantActive    GrantStatus = "active"
	GrantSuspended GrantStatus = "suspended"
	GrantRevoked   GrantStatus = "revoked"
	GrantDenied    GrantStatus = "denied" // a permit request refused: quantity 0
)

// ImportPermit is the importing authority's permit or quota for a buyer.
type ImportPermit struct {
	ID          ID       `json:"id"`
	Number      string   `json:"number"`
	AuthorityID ID       `json:"authority_id"`
	BuyerID     ID       `json:"buyer_id"`
	Buyer       string   `json:"buyer"`
	Products    []string `json:"products"`
	Quantity    int64    `json:"quantity"`
	Remaining   int64    `json:"remaining"`
	Imported    int64    `json:"imported"` // units actually imported under the permit
	// Jurisdiction is the regime that issued the permit ("cn-import").
	Jurisdiction    string      `json:"jurisdiction,omitempty"`
	ValidFrom       time.Time   `json:"valid_from"`
	ValidUntil      time.Time   `json:"valid_until"`
	AllowedUses     []string    `json:"allowed_uses,omitempty"`
	CloudOnly       bool        `json:"cloud_only"`
	ExcludedSectors []string    `json:"excluded_sectors,omitempty"`
	Conditions      []string    `json:"conditions,omitempty"`
	Status          GrantStatus `json:"status"`
	Reason          string      `json:"reason,omitempty"`
	IssuedAt        time.Time   `json:"issued_at"`
	UpdatedAt       time.Time   `json:"updated_at"`
}

// Hearing is the importing authority's demand survey for one period: each
// buyer files its forecast and intended uses.
type Hearing struct {
	ID          ID        `json:"id"`
	AuthorityID ID        `json:"authority_id"`
	Title       string    `json:"title"`
	Product     string    `json:"product"`
	PeriodStart time.Time `json:"period_start"`
	PeriodEnd   time.Time `json:"period_end"`
	Status      string    `json:"status"` // open, closed
	Filings     []Filing  `json:"filings,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Filing is one buyer's answer to a hearing. A new filing by the same buyer
// replaces its earlier one.
type Filing struct {
	BuyerID       ID        `json:"buyer_id"`
	Buyer         string    `json:"buyer"`
	Units         int64     `json:"forecast_units"`
	Uses          []string  `json:"uses"`
	Justification string    `json:"justification,omitempty"`
	FiledAt       time.Time `json:"filed_at"`
}

// Order is a buyer's order with the decision taken on it.
type Order struct {
	ID       ID          `json:"id"`
	BuyerID  ID          `json:"buyer_id"`
	Buyer    string      `json:"buyer"`
	Product  string      `json:"product"`
	Quantity int64       `json:"quantity"`
	Shipped  int64       `json:"shipped"`          // units put into shipments
	Period   string      `json:"requested_period"` // YYYY-MM-DD: not served before this day
	Site     int         `json:"site"`             // index into the application's sites
	EndUse   string      `json:"end_use"`
	Status   OrderStatus `json:"status"`
	Decision Decision    `json:"decision"` // the policy engine's decision, as taken
	// LicenseID and PermitID are the export license and import permit an
	// accepted order drew its units from, when the rules required them.
	LicenseID *ID `json:"license_id,omitempty"`
	PermitID  *ID `json:"permit_id,omitempty"`
	// Drawn are the licenses and permits, of every jurisdiction whose
	// rules required one, that an accepted order drew its units from: what
	// a cancellation or a return to held gives back. LicenseID and PermitID
	// are the first license and permit among them.
	Drawn []DrawnGrant `json:"drawn,omitempty"`
	// Releases are the authorities' releases of the order while it was
	// held; each lifted only its own jurisdiction's releasable holds.
	Releases   []Release  `json:"releases,omitempty"`
	PlacedAt   time.Time  `json:"placed_at"`
	AcceptedAt *time.Time `json:"accepted_at,omitempty"`
	UpdatedAt  time.Time  `json:"updated_at"`
	Notes      []Note     `json:"notes,omitempty"`
}

// Release is an authority's release of a held order after review.
type Release struct {
	Jurisdiction string    `json:"jurisdiction"`
	By           string    `json:"by"` // the authority's party slug
	At           time.Time `json:"at"`
	Reason       string    `json:"reason"`
}

// OrderStatus is a state of the order lifecycle.
type OrderStatus string

// The order lifecycle.
const (
	OrderAccepted  OrderStatus = "accepted"
	OrderHeld      OrderStatus = "held_for_review"
	OrderRejected  OrderStatus = "rejected"
	OrderCancelled OrderStatus = "cancelled"
	// OrderFulfilled is final: every unit shipped and every shipment
	// delivered.
	OrderFulfilled OrderStatus = "fulfilled"
)

// Transition checks a lifecycle move against a table of allowed moves and
// returns ECONFLICT naming the current state when it is not allowed.
func Transition[S ~string](what string, from, to S, allowed map[S][]S) error {
	for _, s := range allowed[from] {
		if s == to {
			return nil
		}
	}
	return Errorf(ECONFLICT, "%s is %s; it cannot become %s", what, from, to)
}

// ApplicationMoves is the vetting state machine.
var ApplicationMoves = map[ApplicationStatus][]ApplicationStatus{
	AppSubmitted:     {AppApproved, AppDenied, AppInfoRequested, AppBlocked},
	AppBlocked:       {AppDenied, AppSubmitted},
	AppInfoRequested: {AppSubmitted, AppBlocked, AppDenied},
	AppApproved:      {AppSuspended, AppRevoked},
	AppSuspended:     {AppApproved, AppRevoked},
}

// GrantMoves is the license and permit state machine.
var GrantMoves = map[GrantStatus][]GrantStatus{
	GrantActive:    {GrantSuspended, GrantRevoked},
	GrantSuspended: {GrantActive, GrantRevoked},
}

// OrderMoves is the order state machine.
// An accepted order goes back to held when a change elsewhere (a US
// cancellation shrinking the volume cap's room) means it no longer fits.
var OrderMoves = map[OrderStatus][]OrderStatus{
	OrderHeld:     {OrderAccepted, OrderRejected, OrderCancelled},
	OrderAccepted: {OrderCancelled, OrderHeld, OrderFulfilled},
}

// CleanList trims entries and drops empty ones.
func CleanList(xs []string) []string {
	out := xs[:0:0]
	for _, x := range xs {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// Validate checks an application as the buyer submits it and normalizes its
// lists. Returns EINVALID naming the first bad field.
func (a *Application) Validate() error {
	var pr Problems
	a.LegalName = strings.TrimSpace(a.LegalName)
	if a.LegalName == "" || len(a.LegalName) > 300 {
		pr.Add("legal_name", "required, at most 300 bytes")
	}
	if len(a.ChineseName) > 300 {
		pr.Add("chinese_name", "at most 300 bytes")
	}
	a.Aliases = CleanList(a.Aliases)
	if len(a.Aliases) > 20 {
		pr.Add("aliases", "at most 20")
	}
	if !ValidCountry(a.Country) {
		pr.Add("country", "must be an ISO 3166-1 alpha-2 code")
	}
	if a.ParentCountry != "" && !ValidCountry(a.ParentCountry) {
		pr.Add("parent_country", "must be an ISO 3166-1 alpha-2 code")
	}
	if _, err := time.Parse(time.DateOnly, a.Registered); err != nil {
		pr.Add("registration_date", "must be a date YYYY-MM-DD")
	}
	a.Addresses = CleanList(a.Addresses)
	if len(a.Addresses) == 0 || len(a.Addresses) > 20 {
		pr.Add("addresses", "between 1 and 20 required")
	}
	total := 0.0
	for i, o := range a.Owners {
		p := "owners[" + itoa(i) + "]"
		if (o.Party == "") == (strings.TrimSpace(o.Name) == "") {
			pr.Add(p, "give either party or name")
		}
		if !(o.Share > 0 && o.Share <= 100) {
			pr.Add(p+".share", "must be in (0, 100]")
		}
		if o.Country != "" && !ValidCountry(o.Country) {
			pr.Add(p+".country", "must be an ISO 3166-1 alpha-2 code")
		}
		total += o.Share
	}
	if total > 100.0001 {
		pr.Add("owners", "shares add up to %.2f%%, more than 100%%", total)
	}
	if !a.BusinessType.Valid() {
		pr.Add("business_type", "must be one of platform, cloud, sme, research, university, government")
	}
	a.EndUses = CleanList(a.EndUses)
	if len(a.EndUses) == 0 || len(a.EndUses) > 20 {
		pr.Add("end_uses", "between 1 and 20 required")
	}
	if len(a.Sites) == 0 || len(a.Sites) > 50 {
		pr.Add("sites", "between 1 and 50 required")
	}
	for i, s := range a.Sites {
		p := "sites[" + itoa(i) + "]"
		if strings.TrimSpace(s.Address) == "" {
			pr.Add(p+".address", "required")
		}
		if !ValidCountry(s.Country) {
			pr.Add(p+".country", "must be an ISO 3166-1 alpha-2 code")
		}
		if !(s.PowerMW >= 0 && s.PowerMW < 100000) {
			pr.Add(p+".power_mw", "must be between 0 and 100,000")
		}
		if (s.Lat == nil) != (s.Lon == nil) || (s.Lat != nil && !(*s.Lat >= -90 && *s.Lat <= 90 && *s.Lon >= -180 && *s.Lon <= 180)) {
			pr.Add(p+".lat", "give both lat (-90..90) and lon (-180..180), or neither")
		}
	}
	for _, k := range a.TransactionParties() {
		if len(k.Parties) > MaxTransactionParties {
			pr.Add(k.Field, "at most %d", MaxTransactionParties)
			continue
		}
		for i := range k.Parties {
			tp := &k.Parties[i]
			p := k.Field + "[" + itoa(i) + "]"
			tp.Name, tp.Address = strings.TrimSpace(tp.Name), strings.TrimSpace(tp.Address)
			if tp.Name == "" || len(tp.Name) > 300 {
				pr.Add(p+".name", "required, at most 300 bytes")
			}
			if !ValidCountry(tp.Country) {
				pr.Add(p+".country", "must be an ISO 3166-1 alpha-2 code")
			}
			if len(tp.Address) > 500 {
				pr.Add(p+".address", "at most 500 bytes")
			}
			if strings.ContainsRune(tp.Name+tp.Address, 0) {
				pr.Add(p, "must not contain a NUL character")
			}
		}
	}
	if len(a.Volumes) == 0 {
		pr.Add("requested_volumes", "at least one product")
	}
	for prod, n := range a.Volumes {
		if n <= 0 || n > 100_000_000 {
			pr.Add("requested_volumes."+prod, "must be between 1 and 100,000,000")
		}
	}
	return pr.Err()
}

func itoa(i int) string { return strconv.Itoa(i) }
