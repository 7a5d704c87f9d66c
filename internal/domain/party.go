package domain

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
)

// ID identifies every stored thing. chipgate uses UUIDv7: sortable by time,
// made without coordination.
type ID = uuid.UUID

// Role is what a party does in the program. Every user acts in the role of
// the party it belongs to.
type Role string

// The roles of the program (../shared/BRIEF.md, "The product").
const (
	RoleVendor          Role = "vendor"
	RoleExportAuthority Role = "export_authority"
	RoleImportAuthority Role = "import_authority"
	RoleBuyer           Role = "buyer"
	RoleLab             Role = "lab"
	RoleCarrier         Role = "carrier"
	RoleAuditor         Role = "auditor"
)

// Roles lists every role, in a stable order.
var Roles = []Role{RoleVendor, RoleExportAuthority, RoleImportAuthority, RoleBuyer, RoleLab, RoleCarrier, RoleAuditor}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool {
	for _, x := range Roles {
		if r == x {
			return true
		}
	}
	return false
}

// BuyerClass is the kind of business a buyer is; allocation reserves a share
// for some classes so that the giants cannot take everything.
type BuyerClass string

// Buyer classes.
const (
	ClassPlatform   BuyerClass = "platform"
	ClassCloud      BuyerClass = "cloud"
	ClassSME        BuyerClass = "sme"
	ClassResearch   BuyerClass = "research"
	ClassUniversity BuyerClass = "university"
	ClassGovernment BuyerClass = "government"
)

// BuyerClasses lists every buyer class.
var BuyerClasses = []BuyerClass{ClassPlatform, ClassCloud, ClassSME, ClassResearch, ClassUniversity, ClassGovernment}

// Valid reports whether c is one of BuyerClasses.
func (c BuyerClass) Valid() bool {
	for _, x := range BuyerClasses {
		if c == x {
			return true
		}
	}
	return false
}

// Party is an organization taking part in the program: the vendor, an
// authority, a buyer, the lab, a carrier or an auditor.
type Party struct {
	ID   ID     `json:"id"`
	Slug string `json:"slug"` // stable, URL-safe handle such as "bytedance"
	Name string `json:"name"`
	Role Role   `json:"role"`
	// Country is the ISO 3166-1 alpha-2 code of the party's headquarters.
	Country string `json:"country"`
	// Class is the buyer's business class; empty for other roles.
	Class     BuyerClass `json:"class,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
}

var (
	slugRe    = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	countryRe = regexp.MustCompile(`^[A-Z]{2}$`)
)

// ValidSlug reports whether s is a valid party slug: lower-case letters,
// digits and dashes, starting with a letter or digit, at most 63 characters.
func ValidSlug(s string) bool { return slugRe.MatchString(s) }

// ValidCountry reports whether c looks like an ISO 3166-1 alpha-2 code.
func ValidCountry(c string) bool { return countryRe.MatchString(c) }

// Validate returns EINVALID naming the first bad field.
func (p *Party) Validate() error {
	var pr Problems
	if !ValidSlug(p.Slug) {
		pr.Add("slug", "must be 1-63 lower-case letters, digits or dashes")
	}
	if strings.TrimSpace(p.Name) == "" {
		pr.Add("name", "required")
	} else if len(p.Name) > 300 {
		pr.Add("name", "at most 300 bytes")
	}
	if !p.Role.Valid() {
		pr.Add("role", "must be one of vendor, export_authority, import_authority, buyer, lab, carrier, auditor")
	}
	if !ValidCountry(p.Country) {
		pr.Add("country", "must be an ISO 3166-1 alpha-2 code such as CN or US")
	}
	switch {
	case p.Role == RoleBuyer && p.Class != "" && !p.Class.Valid():
		pr.Add("class", "must be one of platform, cloud, sme, research, university, government")
	case p.Role.Valid() && p.Role != RoleBuyer && p.Class != "":
		pr.Add("class", "only buyers have a class")
	}
	return pr.Err()
}

// UserDuty is what a user may do within its party, beyond reading what the
// party's role reads: the party's routine work (officer), its decisive acts
// (approver) or the administration of its people and credentials
// (administrator). A user holds any set of duties; one with none reads
// only. (Duty is the import duty on a chip.)
type UserDuty string

// The duties within a party.
const (
	// DutyOfficer does the party's routine work: an authority's reviews,
	// information requests and first clears, a buyer's orders, a carrier's
	// custody events.
	DutyOfficer UserDuty = "officer"
	// DutyApprover takes an authority's decisive acts (approving or
	// denying an application, issuing, suspending or revoking a license or
	// permit, the second clear of a four-eyes hit) and may do routine work.
	DutyApprover UserDuty = "approver"
	// DutyAdministrator manages the party's users and their duties, API
	// tokens, identity provider and mappings, and webhook subscriptions.
	DutyAdministrator UserDuty = "administrator"
)

// AllDuties lists every duty, in a stable order.
var AllDuties = []UserDuty{DutyOfficer, DutyApprover, DutyAdministrator}

// Valid reports whether d is one of AllDuties.
func (d UserDuty) Valid() bool {
	for _, x := range AllDuties {
		if d == x {
			return true
		}
	}
	return false
}

// Duties is a set of duties, kept sorted in AllDuties' order without
// repeats.
type Duties []UserDuty

// NormalDuties returns ds without repeats in AllDuties' order, or EINVALID
// naming field when one is unknown.
func NormalDuties(field string, ds []UserDuty) (Duties, error) {
	out := Duties{}
	for i, d := range ds {
		if !d.Valid() {
			return nil, Invalid(fmt.Sprintf("%s[%d]", field, i), "must be one of officer, approver, administrator")
		}
	}
	for _, x := range AllDuties {
		for _, d := range ds {
			if d == x {
				out = append(out, x)
				break
			}
		}
	}
	return out, nil
}

// Has reports whether the set holds one of need.
func (ds Duties) Has(need ...UserDuty) bool {
	for _, d := range ds {
		for _, n := range need {
			if d == n {
				return true
			}
		}
	}
	return false
}

// User is a person or a system account acting for one party.
type User struct {
	ID      ID     `json:"id"`
	PartyID ID     `json:"party_id"`
	Name    string `json:"name"`
	// Duties are what the user may do for its party (Duty); never nil.
	Duties    Duties    `json:"duties"`
	CreatedAt time.Time `json:"created_at"`
}

// Validate returns EINVALID naming the first bad field.
func (u *User) Validate() error {
	var pr Problems
	if strings.TrimSpace(u.Name) == "" {
		pr.Add("name", "required")
	} else if len(u.Name) > 200 {
		pr.Add("name", "at most 200 bytes")
	}
	if u.PartyID == (ID{}) {
		pr.Add("party_id", "required")
	}
	return pr.Err()
}

// Token is a bearer credential of a user. Only the SHA-256 hash of the secret
// is stored; the secret is shown once, when it is issued.
type Token struct {
	ID     ID     `json:"id"`
	UserID ID     `json:"user_id"`
	Hash   []byte `json:"-"`
	Label  string `json:"label"`
	// Kind says what the secret opens: the API (a bearer token) or one
	// dashboard session (a cookie); neither works as the other.
	Kind TokenKind `json:"kind"`
	// ParentID is the token that issued this one: a token never outlives
	// its issuer, and revoking the issuer revokes it. Nil for a token the
	// operator issued.
	ParentID  *ID        `json:"parent_id,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	// LastUsedAt is when a session was last seen, for its idle timeout;
	// nil for API tokens.
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

// TokenKind is what a token's secret opens.
type TokenKind string

// Token kinds.
const (
	TokenAPI     TokenKind = "api"     // a bearer token for the API
	TokenSession TokenKind = "session" // one dashboard sign-in
)

// Active reports whether the token may be used at instant now.
func (t *Token) Active(now time.Time) bool {
	if t.RevokedAt != nil {
		return false
	}
	return t.ExpiresAt == nil || now.Before(*t.ExpiresAt)
}

// Actor is the authenticated caller of a command: a user acting for its
// party, in that party's role.
type Actor struct {
	UserID    ID     `json:"user_id"`
	UserName  string `json:"user_name"`
	PartyID   ID     `json:"party_id"`
	PartySlug string `json:"party_slug"`
	Role      Role   `json:"role"`
	// Duties are the user's duties within its party.
	Duties Duties `json:"duties"`
	// TokenID and TokenExpiresAt are the credential the actor presented
	// (zero for an actor the server itself acts as): a token it issues is
	// bounded by them.
	TokenID        ID         `json:"-"`
	TokenExpiresAt *time.Time `json:"-"`
}

// SystemActor is the actor of operator commands run on the server itself
// (migrations, the demo loader, the CLI's party and token commands).
var SystemActor = Actor{UserName: "system", PartySlug: "system", Role: "system"}

// ParseID parses the canonical text form of an ID.
func ParseID(s string) (ID, error) {
	if len(s) != 36 {
		return ID{}, Errorf(EINVALID, "%q is not an id", s)
	}
	id, err := uuid.Parse(s)
	if err != nil {
		return ID{}, Errorf(EINVALID, "%q is not an id", s)
	}
	return id, nil
}
