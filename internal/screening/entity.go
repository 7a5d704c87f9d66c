package screening

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Type is the kind of a listed party.
type Type string

// The types the lists use. Lists that do not say (the Entity List, the Denied
// Persons List) leave TypeUnknown.
const (
	TypeUnknown    Type = ""
	TypeIndividual Type = "individual"
	TypeEntity     Type = "entity"
	TypeVessel     Type = "vessel"
	TypeAircraft   Type = "aircraft"
)

func parseType(s string) Type {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "individual", "person":
		return TypeIndividual
	case "entity", "organization", "company":
		return TypeEntity
	case "vessel":
		return TypeVessel
	case "aircraft":
		return TypeAircraft
	}
	return TypeUnknown
}

// Entity is one listed party after folding: every list that names it is one
// of its Sources. Entities are immutable once an Index holds them.
type Entity struct {
	// Key identifies the entity across reloads: "ofac:<ent_num>" for
	// everything OFAC numbers (SDN and the non-SDN lists, in any format),
	// "UN:<reference>" for the UN list, and "<list>:<normalized name>" for
	// lists without stable ids (Entity List, Denied Persons, Unverified...).
	Key       string
	Type      Type
	Name      string   // the primary name, cleaned of list noise
	Aliases   []string // other names (a.k.a., f.k.a., short forms), deduplicated
	Addresses []Address
	Countries []string // ISO 3166-1 alpha-2 codes where known, from addresses, nationality, citizenship
	Programs  []string
	Dates     []string // dates of birth and similar, as the list writes them
	// IDs are the identifiers the list gives (passports, registration and
	// tax numbers), each as "type, number, country" as the list writes it.
	IDs     []string
	Remarks string
	Sources []Source
}

// Address is one address as a list gives it; Country is an ISO alpha-2 code
// when it could be recognized, else the text.
type Address struct {
	Street  string `json:"street,omitempty"`
	City    string `json:"city,omitempty"`
	State   string `json:"state,omitempty"`
	Postal  string `json:"postal,omitempty"`
	Country string `json:"country,omitempty"`
}

// String renders the address on one line.
func (a Address) String() string {
	var parts []string
	for _, p := range []string{a.Street, a.City, a.State, a.Postal, a.Country} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ", ")
}

// Source is one list's record of an entity.
type Source struct {
	List     string   `json:"list"`      // short code: SDN, EL, DPL, MEU, UVL, SSI, ISN, DTC, PLC, CMIC, CAP, NS-MBS, FSE, UN, CONS
	ID       string   `json:"source_id"` // the list's own id (OFAC ent_num, CSL _id, UN reference number)
	Name     string   `json:"name"`      // the name exactly as the list prints it
	File     string   `json:"file"`      // the file it came from, relative to the loaded directory
	Line     int      `json:"line,omitempty"`
	Programs []string `json:"programs,omitempty"`
	Listed   string   `json:"listed,omitempty"` // listing or start date as the list writes it
	// Notice is the Federal Register citation of the listing, where the
	// list gives one (the CSL's federal_register_notice, the DPL's
	// FR_Citation).
	Notice string `json:"federal_register,omitempty"`
}

// listPriority orders sources for display: the list that matters most to an
// exporter first.
var listPriority = map[string]int{
	"SDN": 0, "EL": 1, "MEU": 2, "DPL": 3, "UVL": 4, "UN": 5, "SSI": 6, "CMIC": 7,
	"ISN": 8, "DTC": 9, "NS-MBS": 10, "FSE": 11, "CAP": 12, "PLC": 13, "CONS": 14,
}

func listRank(l string) int {
	if r, ok := listPriority[l]; ok {
		return r
	}
	return 50
}

// PrimarySource returns the most significant source (SDN before EL before the
// others); the CLI and API report it as "list" and "source_id".
func (e *Entity) PrimarySource() Source {
	best := 0
	for i, s := range e.Sources {
		if listRank(s.List) < listRank(e.Sources[best].List) {
			best = i
		}
	}
	if len(e.Sources) == 0 {
		return Source{}
	}
	return e.Sources[best]
}

// Lists returns the distinct list codes of the entity's sources.
func (e *Entity) Lists() []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range e.Sources {
		if !seen[s.List] {
			seen[s.List] = true
			out = append(out, s.List)
		}
	}
	return out
}

// Names returns the primary name followed by the aliases.
func (e *Entity) Names() []string {
	return append([]string{e.Name}, e.Aliases...)
}

var (
	reSuccessor = regexp.MustCompile(`(?i)[,;]?\s*(and|including)\s+any\s+successors?\b.*$`)
	reParent    = regexp.MustCompile(`(?i)\s*\((parent organization|subordinate (institution|entity) of|a subordinate)[^()]*(\([^()]*\)[^()]*)*\)`)
	reAffil     = regexp.MustCompile(`(?i)\.?\s+affiliated entity:\s+`)
	reTrailAbbr = regexp.MustCompile(`^(.*\S)\s*\(([^()]{2,40})\)\s*\.?$`)
	reSpace     = regexp.MustCompile(`\s+`)
	reAKA2      = regexp.MustCompile(`(?i)[,;(]?\s*\b(?:a|f|n)\.k\.a\.?,?(?:\s+the following \w+ aliases:?)?\s*`)
)

// cleanListName splits a name as a list prints it into the party's name and
// extra names, removing noise that is about the listing rather than the
// party: "and any successor, sub-unit, or subsidiary thereof", "(Parent
// Organization: …)", the parent in "Huawei Technologies Co., Ltd. (Huawei).
// Affiliated Entity: Huawei Marine Networks Co., Ltd." (the listed party is
// the affiliate; the parent is kept as a remark), and a trailing short form
// "(ASMAT)" which becomes an alias. UN names joined by " ; " become aliases.
func cleanListName(raw string) (name string, aliases []string, remark string) {
	s := strings.TrimSpace(raw)
	// The regular expressions below are slow next to the plain checks that
	// guard them, and most names need none of them.
	if strings.Contains(s, "  ") || strings.ContainsAny(s, "\t\n\r\u00a0") {
		s = reSpace.ReplaceAllString(s, " ")
	}
	lower := strings.ToLower(s)
	if strings.Contains(lower, "successor") {
		s = reSuccessor.ReplaceAllString(s, "")
	}
	if strings.Contains(lower, "parent organization") || strings.Contains(lower, "subordinate") {
		if loc := reParent.FindStringIndex(s); loc != nil {
			remark = strings.Trim(strings.TrimSpace(s[loc[0]:loc[1]]), "()")
			s = strings.TrimSpace(s[:loc[0]] + s[loc[1]:])
		}
	}
	if strings.Contains(lower, "affiliated entity") {
		if loc := reAffil.FindStringIndex(s); loc != nil {
			parent := strings.TrimSpace(s[:loc[0]])
			s = strings.TrimSpace(s[loc[1]:])
			remark = strings.TrimSpace(remark + " Affiliate of: " + parent)
		}
	}
	if strings.Contains(lower, ".k.a") {
		if loc := reAKA2.FindStringIndex(s); loc != nil && loc[0] > 0 {
			// "X, f.k.a. Y" inside a name field (the Entity List does this).
			for _, p := range reAKA2.Split(s[loc[0]:], -1) {
				if p = strings.Trim(strings.TrimSpace(p), ",;"); p != "" {
					aliases = append(aliases, p)
				}
			}
			s = strings.TrimRight(strings.TrimSpace(s[:loc[0]]), ",;")
		}
	}
	if strings.Contains(s, " ; ") {
		parts := strings.Split(s, " ; ")
		s = strings.TrimSpace(parts[0])
		for _, p := range parts[1:] {
			if p = strings.TrimSpace(p); p != "" {
				aliases = append(aliases, p)
			}
		}
	}
	if strings.HasSuffix(s, ")") || strings.HasSuffix(s, ").") {
		if m := reTrailAbbr.FindStringSubmatch(s); m != nil {
			inner := strings.TrimSpace(m[2])
			// Only short forms become aliases; "(Pakistan)" or "(GROUP)" inside a
			// name is part of it. A short form is one word, mostly upper case.
			if !strings.Contains(inner, " ") && isAbbrev(inner) && !isCountryName(inner) {
				s = strings.TrimRight(strings.TrimSpace(m[1]), ",")
				aliases = append(aliases, inner)
			}
		}
	}
	s = strings.TrimSpace(strings.TrimRight(s, ";"))
	if s == "" {
		// Cleaning that leaves nothing ("and any successor" alone) was not
		// noise around a name: keep the name as the list prints it.
		s = strings.TrimSpace(reSpace.ReplaceAllString(raw, " "))
	}
	return s, aliases, remark
}

// isAbbrev reports whether w looks like a short form: letters, digits and
// hyphens, with at least two upper-case letters or an initial capital on a
// word that is not a place ("Huawei").
func isAbbrev(w string) bool {
	upper := 0
	for _, r := range w {
		switch {
		case r >= 'A' && r <= 'Z':
			upper++
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '&', r == '.':
		default:
			return false
		}
	}
	return upper >= 2 || (upper == 1 && w[0] >= 'A' && w[0] <= 'Z' && len(w) >= 4)
}

// Fingerprint returns a short hash of what identifies the listing: the
// entity's names and the lists' own ids and names for it. It changes when a
// list changes the listing (a new alias, a new list, a removed source) and
// not when a reload merely reorders files, so a reviewer's decision on a
// hit can be kept "until the listing itself changes" by storing Key and
// Fingerprint with it.
func (e *Entity) Fingerprint() string {
	return shortHash(e.fingerprintParts())
}

func (e *Entity) fingerprintParts() []string {
	parts := make([]string, 0, 2+len(e.Aliases)+len(e.Sources))
	parts = append(parts, "n:"+foldKey(e.Name))
	for _, a := range e.Aliases {
		parts = append(parts, "a:"+foldKey(a))
	}
	for _, s := range e.Sources {
		parts = append(parts, "s:"+s.List+"\x00"+s.ID+"\x00"+s.Name)
	}
	sort.Strings(parts[1:])
	return slices.Compact(parts)
}

func shortHash(parts []string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\n")))
	return hex.EncodeToString(sum[:12])
}

// ContentHash returns a short hash of everything the lists say about the
// entity: what Fingerprint covers and its type, addresses, countries,
// programs, dates, identifiers, remarks and each source's programs,
// listing date and Federal Register citation. A screening decision stored
// with it is re-opened when any of these changes (a new address or
// program is news to the officer who cleared the hit); the order of
// files and records does not change it.
func (e *Entity) ContentHash() string {
	parts := e.fingerprintParts()
	extra := make([]string, 0, 1+len(e.Addresses)+len(e.Countries)+len(e.Programs)+len(e.Dates)+len(e.IDs)+len(e.Sources))
	extra = append(extra, "t:"+string(e.Type), "r:"+e.Remarks)
	for _, a := range e.Addresses {
		extra = append(extra, "ad:"+a.String())
	}
	for _, c := range e.Countries {
		extra = append(extra, "c:"+c)
	}
	for _, p := range e.Programs {
		extra = append(extra, "p:"+p)
	}
	for _, d := range e.Dates {
		extra = append(extra, "d:"+d)
	}
	for _, id := range e.IDs {
		extra = append(extra, "i:"+id)
	}
	for _, s := range e.Sources {
		extra = append(extra, "sx:"+s.List+"\x00"+s.ID+"\x00"+strings.Join(s.Programs, ";")+"\x00"+s.Listed+"\x00"+s.Notice)
	}
	sort.Strings(extra)
	return shortHash(append(parts, slices.Compact(extra)...))
}
