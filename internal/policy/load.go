package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	"github.com/chipgate/chipgate/internal/domain"
	"go.yaml.in/yaml/v3"
)

// MaxFileSize bounds a policy file: the real one is a few kilobytes, and a
// bound keeps a hostile file from tying up the loader.
const MaxFileSize = 1 << 20

// fileDoc is the policy file as written.
type fileDoc struct {
	Policy        string         `yaml:"policy"`
	Description   string         `yaml:"description"`
	Sources       []sourceDoc    `yaml:"sources"`
	Jurisdictions []Jurisdiction `yaml:"jurisdictions"`
	Rules         []ruleDoc      `yaml:"rules"`

	// Ledger is the ledger's block (ledger.go).
	Ledger *LedgerSettings `yaml:"ledger"`
}

// Jurisdiction is a legal regime whose rules the program applies: the US
// Export Administration Regulations, China's import regime. Each rule that
// decides belongs to one, and only that regime's authority may release a
// hold its rules give or issue the grants its rules ask for.
type Jurisdiction struct {
	ID   string `yaml:"id" json:"id"`
	Name string `yaml:"name" json:"name"`
	// Authority is who speaks for the regime in the program: parties of
	// that role located in one of the countries.
	Authority JurisdictionAuthority `yaml:"authority" json:"authority"`
}

// JurisdictionAuthority names the parties that act for a jurisdiction.
type JurisdictionAuthority struct {
	Role      string   `yaml:"role" json:"role"`
	Countries []string `yaml:"countries" json:"countries"`
}

type sourceDoc struct {
	ID    string `yaml:"id"`
	Title string `yaml:"title"`
}

// ruleDoc is one version of a rule: an id, its dates, its source and
// exactly one parameter block, whose key names the rule's kind.
type ruleDoc struct {
	ID           string `yaml:"id"`
	Source       string `yaml:"source"`
	Jurisdiction string `yaml:"jurisdiction"`
	// Releasable lets the jurisdiction's authority release, after review,
	// an order this rule holds.
	Releasable bool     `yaml:"releasable"`
	From       *Instant `yaml:"from"`
	Until      *Instant `yaml:"until"`
	Summary    string   `yaml:"summary"`
	Note       string   `yaml:"note"`

	Classification   *ClassificationParams   `yaml:"classification"`
	Regions          *RegionParams           `yaml:"regions"`
	CountryGroup     *CountryGroupParams     `yaml:"country_group"`
	Destination      *DestinationParams      `yaml:"destination"`
	ParentHQ         *ParentHQParams         `yaml:"parent_hq"`
	ApprovedCustomer *ApprovedCustomerParams `yaml:"approved_customer"`
	EndUse           *EndUseParams           `yaml:"end_use"`
	EndUser          *EndUserParams          `yaml:"end_user"`
	Letter           *LetterParams           `yaml:"license_letter"`
	Exception        *ExceptionParams        `yaml:"license_exception"`
	Affiliates       *OwnershipParams        `yaml:"affiliates"`
	BlockedOwnership *OwnershipParams        `yaml:"blocked_ownership"`
	VolumeCap        *VolumeCapParams        `yaml:"volume_cap"`
	LabTest          *LabTestParams          `yaml:"lab_test"`
	Route            *RouteParams            `yaml:"route"`
	Check            *CheckParams            `yaml:"check"`
	ReExport         *ReExportParams         `yaml:"reexport"`
	ConsigneeKYC     *ConsigneeKYCParams     `yaml:"consignee_kyc"`
	Duty             *DutyParams             `yaml:"duty"`
	ImportPermit     *ImportPermitParams     `yaml:"import_permit"`
	LotAge           *LotAgeParams           `yaml:"lot_age"`
	RedFlags         *RedFlagParams          `yaml:"red_flags"`
	Geolocation      *GeolocationParams      `yaml:"geolocation"`
	Watch            *WatchParams            `yaml:"watch"`
	Attestation      *AttestationParams      `yaml:"attestation"`
	Allocation       *AllocationParams       `yaml:"allocation"`
	Screening        *ScreeningParams        `yaml:"screening"`
}

// Rule kinds: the key of a rule's parameter block.
const (
	KindClassification   = "classification"
	KindRegions          = "regions"
	KindCountryGroup     = "country_group"
	KindDestination      = "destination"
	KindParentHQ         = "parent_hq"
	KindApprovedCustomer = "approved_customer"
	KindEndUse           = "end_use"
	KindEndUser          = "end_user"
	KindAffiliates       = "affiliates"
	KindBlockedOwnership = "blocked_ownership"
	KindLetter           = "license_letter"
	KindException        = "license_exception"
	KindVolumeCap        = "volume_cap"
	KindLabTest          = "lab_test"
	KindRoute            = "route"
	KindCheck            = "check"
	KindReExport         = "reexport"
	KindConsigneeKYC     = "consignee_kyc"
	KindDuty             = "duty"
	KindImportPermit     = "import_permit"
	KindLotAge           = "lot_age"
	KindRedFlags         = "red_flags"
	KindGeolocation      = "geolocation"
	KindWatch            = "watch"
	KindAttestation      = "attestation"
	KindAllocation       = "allocation"
	KindScreening        = "screening"
)

// decidingKinds are the kinds whose rules give reasons in decisions: each
// must name its jurisdiction.
var decidingKinds = map[string]bool{
	KindDestination: true, KindParentHQ: true, KindApprovedCustomer: true, KindEndUse: true, KindEndUser: true,
	KindVolumeCap: true, KindLabTest: true, KindRoute: true, KindCheck: true, KindReExport: true, KindConsigneeKYC: true,
	KindDuty: true, KindImportPermit: true, KindLotAge: true, KindRedFlags: true, KindAffiliates: true, KindBlockedOwnership: true,
	KindLetter: true, KindException: true,
}

// multiKinds may have several rules (ids) in force at once; every other kind
// has one id whose versions follow each other in time.
var multiKinds = map[string]bool{KindCountryGroup: true, KindDestination: true, KindCheck: true, KindLetter: true, KindException: true}

// blocks returns the kinds and parameter blocks set on the rule.
func (r *ruleDoc) blocks() (kinds []string, params []any) {
	add := func(k string, set bool, p any) {
		if set {
			kinds = append(kinds, k)
			params = append(params, p)
		}
	}
	add(KindClassification, r.Classification != nil, r.Classification)
	add(KindRegions, r.Regions != nil, r.Regions)
	add(KindCountryGroup, r.CountryGroup != nil, r.CountryGroup)
	add(KindDestination, r.Destination != nil, r.Destination)
	add(KindParentHQ, r.ParentHQ != nil, r.ParentHQ)
	add(KindApprovedCustomer, r.ApprovedCustomer != nil, r.ApprovedCustomer)
	add(KindEndUse, r.EndUse != nil, r.EndUse)
	add(KindEndUser, r.EndUser != nil, r.EndUser)
	add(KindAffiliates, r.Affiliates != nil, r.Affiliates)
	add(KindBlockedOwnership, r.BlockedOwnership != nil, r.BlockedOwnership)
	add(KindLetter, r.Letter != nil, r.Letter)
	add(KindException, r.Exception != nil, r.Exception)
	add(KindVolumeCap, r.VolumeCap != nil, r.VolumeCap)
	add(KindLabTest, r.LabTest != nil, r.LabTest)
	add(KindRoute, r.Route != nil, r.Route)
	add(KindCheck, r.Check != nil, r.Check)
	add(KindReExport, r.ReExport != nil, r.ReExport)
	add(KindConsigneeKYC, r.ConsigneeKYC != nil, r.ConsigneeKYC)
	add(KindDuty, r.Duty != nil, r.Duty)
	add(KindImportPermit, r.ImportPermit != nil, r.ImportPermit)
	add(KindLotAge, r.LotAge != nil, r.LotAge)
	add(KindRedFlags, r.RedFlags != nil, r.RedFlags)
	add(KindGeolocation, r.Geolocation != nil, r.Geolocation)
	add(KindWatch, r.Watch != nil, r.Watch)
	add(KindAttestation, r.Attestation != nil, r.Attestation)
	add(KindAllocation, r.Allocation != nil, r.Allocation)
	add(KindScreening, r.Screening != nil, r.Screening)
	return kinds, params
}

// Source is a public source a rule cites (../shared/RULES-SOURCES.md).
type Source struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// Rule is one version of a rule as the API shows it.
type Rule struct {
	ID          string `json:"id"`
	Kind        string `json:"kind"`
	Source      string `json:"source"`
	SourceTitle string `json:"source_title"`
	// Jurisdiction is the regime the rule belongs to ("" for the program's
	// own geography and settings, which decide nothing by themselves).
	Jurisdiction string `json:"jurisdiction,omitempty"`
	// Releasable: its jurisdiction's authority may release an order the
	// rule holds.
	Releasable bool     `json:"releasable,omitempty"`
	From       Instant  `json:"from"`
	Until      *Instant `json:"until,omitempty"`
	Summary    string   `json:"summary,omitempty"`
	Note       string   `json:"note,omitempty"`
	// Params is the kind's parameter block, e.g. *DestinationParams.
	Params any `json:"params"`
	// Line is where the rule starts in the policy file.
	Line int `json:"line"`
}

// entry is a loaded rule version with what the engine needs at hand.
type entry struct {
	Rule
	doc   *ruleDoc
	check cel.Program // for KindCheck
	// text is a message fixed at load: the lab-test obligation, the route
	// prefix ("route TW → US → "), the duty rate ("25%").
	text string
	// figures are thresholds written out at load, so that a decision does
	// not format the same constants again: a review's TPP, bandwidth and
	// day; a duty window's TPP and bandwidth ranges, in pairs.
	figures []string
}

// Policy is a loaded, validated policy file. It is immutable and safe for
// concurrent use; reloading means loading a new Policy and swapping it in.
type Policy struct {
	name          string
	file          string
	sources       []Source
	jurisdictions []Jurisdiction
	entries       []*entry
	segments      []segment
	env           *cel.Env
	ledger        LedgerSettings
}

// segment is a stretch of time in which the same rule versions are in force.
type segment struct {
	start time.Time
	set   *ruleSet
}

// Problem is one thing wrong with a policy file.
type Problem struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Rule    string `json:"rule,omitempty"`
	Message string `json:"message"`
}

// String writes the problem as FILE:LINE: rule ID: message, the form
// editors and CI logs link to.
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		b.WriteString(":" + strconv.Itoa(p.Line))
	}
	b.WriteString(": ")
	if p.Rule != "" {
		b.WriteString("rule " + p.Rule + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// LoadError lists every problem found in a policy file.
type LoadError struct {
	Problems []Problem
}

// Error lists the problems, one per line.
func (e *LoadError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Unwrap gives the error the EINVALID code: a bad policy is bad input.
func (e *LoadError) Unwrap() error {
	return domain.Errorf(domain.EINVALID, "invalid policy file (%d problems)", len(e.Problems))
}

// loader accumulates problems with positions.
type loader struct {
	file     string
	problems []Problem
	lines    []ruleLines // per rule index
	srcLines []int       // per source index
}

// ruleLines is where a rule and its keys are in the file.
type ruleLines struct {
	line int
	keys map[string]int
}

func (l *loader) add(line int, rule, format string, args ...any) {
	l.problems = append(l.problems, Problem{File: l.file, Line: line, Rule: rule, Message: fmt.Sprintf(format, args...)})
}

// ruleAt returns the id of the rule whose text holds line, for errors the
// YAML decoder reports by line only.
func (l *loader) ruleAt(doc *fileDoc, line int) string {
	id := ""
	for i, rl := range l.lines {
		if rl.line <= line && i < len(doc.Rules) {
			id = doc.Rules[i].ID
		}
	}
	return id
}

func (l *loader) keyLine(i int, key string) int {
	if i < len(l.lines) {
		if n, ok := l.lines[i].keys[key]; ok {
			return n
		}
		return l.lines[i].line
	}
	return 0
}

var (
	yamlLineRe   = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	unknownRe    = regexp.MustCompile(`field (\S+) not found in type \S+`)
	ruleIDRe     = regexp.MustCompile(`^[a-z0-9][a-z0-9.:_-]{0,99}$`)
	sourceIDRe   = regexp.MustCompile(`^S[0-9]{1,3}$`)
	countryRe    = regexp.MustCompile(`^[A-Z]{2}$`)
	vocabularyRe = regexp.MustCompile(`^[a-z0-9_:.-]{1,60}$`)
	listRe       = regexp.MustCompile(`^[A-Z][A-Z0-9-]{1,15}$`)
)

// Load parses and validates a policy file. name is used in messages
// ("default.yaml:12: rule dest.cn-mo: ..."). It refuses unknown fields,
// CEL that does not compile to a bool, rule versions that overlap or leave a
// gap, unknown source ids, and parameters out of range, reporting every
// problem it finds as a *LoadError.
func Load(name string, data []byte) (*Policy, error) {
	l := &loader{file: name}
	if len(data) > MaxFileSize {
		l.add(0, "", "file is %d bytes, more than %d", len(data), MaxFileSize)
		return nil, &LoadError{l.problems}
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		l.yamlError(nil, err)
		return nil, &LoadError{l.problems}
	}
	l.indexLines(&root)

	var doc fileDoc
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var typeErrs *yaml.TypeError
	if err := dec.Decode(&doc); err != nil {
		switch {
		case errors.Is(err, io.EOF):
			l.add(0, "", "empty file")
			return nil, &LoadError{l.problems}
		case errors.As(err, &typeErrs):
			// The decoder filled what it could; go on and report the
			// other problems too, except for rules already reported.
			l.yamlError(&doc, err)
		default:
			l.yamlError(&doc, err)
			return nil, &LoadError{l.problems}
		}
	}
	if typeErrs == nil {
		var extra yaml.Node
		if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
			l.add(extra.Line, "", "more than one YAML document")
			return nil, &LoadError{l.problems}
		}
	}

	env, err := newEnv()
	if err != nil {
		return nil, fmt.Errorf("policy: CEL environment: %w", err)
	}
	p := &Policy{name: doc.Policy, file: name, env: env}
	if typeErrs != nil {
		// A rule that did not decode would only add confusing echoes of
		// its first problem (a missing block, a zero value): drop them.
		seen := map[string]bool{}
		for _, pr := range l.problems {
			seen[pr.Rule] = true
		}
		first := len(l.problems)
		l.validate(&doc, p)
		kept := l.problems[:first]
		for _, pr := range l.problems[first:] {
			if !seen[pr.Rule] {
				kept = append(kept, pr)
			}
		}
		return nil, &LoadError{kept}
	}
	l.validate(&doc, p)
	l.checkLedger(&root, doc.Ledger, p)
	if len(l.problems) > 0 {
		return nil, &LoadError{l.problems}
	}
	p.buildSegments(l)
	if len(l.problems) > 0 {
		return nil, &LoadError{l.problems}
	}
	return p, nil
}

func (l *loader) yamlError(doc *fileDoc, err error) {
	var te *yaml.TypeError
	msgs := []string{err.Error()}
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	for _, m := range msgs {
		line := 0
		if sm := yamlLineRe.FindStringSubmatch(m); sm != nil {
			line, _ = strconv.Atoi(sm[1])
			m = sm[2]
		}
		m = unknownRe.ReplaceAllString(m, `unknown field "$1"`)
		m = strings.TrimPrefix(m, "yaml: ")
		rule := ""
		if doc != nil {
			rule = l.ruleAt(doc, line)
		}
		l.add(line, rule, "%s", m)
	}
}

// indexLines records where each rule and each of its keys start.
func (l *loader) indexLines(root *yaml.Node) {
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return
	}
	top := root.Content[0]
	if top.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value == "sources" && top.Content[i+1].Kind == yaml.SequenceNode {
			for _, s := range top.Content[i+1].Content {
				l.srcLines = append(l.srcLines, s.Line)
			}
		}
		if top.Content[i].Value != "rules" || top.Content[i+1].Kind != yaml.SequenceNode {
			continue
		}
		for _, r := range top.Content[i+1].Content {
			rl := ruleLines{line: r.Line, keys: map[string]int{}}
			if r.Kind == yaml.MappingNode {
				for j := 0; j+1 < len(r.Content); j += 2 {
					rl.keys[r.Content[j].Value] = r.Content[j].Line
					// The line of a CEL expression, for its type errors.
					if v := r.Content[j+1]; v.Kind == yaml.MappingNode {
						for k := 0; k+1 < len(v.Content); k += 2 {
							key := r.Content[j].Value + "." + v.Content[k].Value
							rl.keys[key] = v.Content[k].Line
							// The line of each item of a list (a duty
							// window, a category), for its problems.
							if items := v.Content[k+1]; items.Kind == yaml.SequenceNode {
								for n, it := range items.Content {
									rl.keys[key+"["+strconv.Itoa(n)+"]"] = it.Line
								}
							}
						}
					}
				}
			}
			l.lines = append(l.lines, rl)
		}
	}
}

// validate checks the decoded file and fills p.
func (l *loader) validate(doc *fileDoc, p *Policy) {
	if strings.TrimSpace(doc.Policy) == "" {
		l.add(1, "", "policy: a name is required")
	}
	known := map[string]string{}
	for i, s := range doc.Sources {
		line := 0
		if i < len(l.srcLines) {
			line = l.srcLines[i]
		}
		switch {
		case !sourceIDRe.MatchString(s.ID):
			l.add(line, "", "source %q: id must look like S4", s.ID)
		case known[s.ID] != "":
			l.add(line, "", "source %s listed twice", s.ID)
		case strings.TrimSpace(s.Title) == "":
			l.add(line, "", "source %s: title required", s.ID)
		default:
			known[s.ID] = s.Title
			p.sources = append(p.sources, Source(s))
		}
	}
	if len(doc.Rules) == 0 {
		l.add(0, "", "no rules")
	}
	jurisdictions := map[string]bool{}
	for _, j := range doc.Jurisdictions {
		switch {
		case !vocabularyRe.MatchString(j.ID):
			l.add(0, "", "jurisdiction %q: id must be lower-case words joined by - or _", j.ID)
		case jurisdictions[j.ID]:
			l.add(0, "", "jurisdiction %s listed twice", j.ID)
		case strings.TrimSpace(j.Name) == "":
			l.add(0, "", "jurisdiction %s: name required", j.ID)
		case !domain.Role(j.Authority.Role).Valid():
			l.add(0, "", "jurisdiction %s: authority.role %q is not a role", j.ID, j.Authority.Role)
		default:
			jurisdictions[j.ID] = true
			p.jurisdictions = append(p.jurisdictions, j)
		}
		for _, c := range j.Authority.Countries {
			if !countryRe.MatchString(c) {
				l.add(0, "", "jurisdiction %s: authority.countries: %q is not an ISO 3166-1 alpha-2 code", j.ID, c)
			}
		}
	}

	// Names other rules refer to: regions and country groups.
	regions := map[string]bool{}
	groups := map[string]bool{}
	for _, r := range doc.Rules {
		if r.Regions != nil {
			for _, g := range r.Regions.Groups {
				regions[g.Name] = true
			}
			regions[r.Regions.Default] = true
		}
		if r.CountryGroup != nil {
			groups[r.CountryGroup.Name] = true
		}
	}

	for i := range doc.Rules {
		r := &doc.Rules[i]
		line := l.keyLine(i, "id")
		id := r.ID
		if !ruleIDRe.MatchString(id) {
			l.add(line, id, "id must be lower-case letters, digits and . : _ - (got %q)", id)
		}
		if r.Source == "" {
			l.add(l.keyLine(i, "id"), id, "source: required (an id from RULES-SOURCES.md such as S4)")
		} else if _, ok := known[r.Source]; !ok {
			l.add(l.keyLine(i, "source"), id, "source: unknown source id %q", r.Source)
		}
		if r.From == nil {
			l.add(line, id, "from: required (YYYY-MM-DD, or YYYY-MM-DDTHH:MM Area/City where the source gives a local time)")
		}
		if r.From != nil && r.Until != nil && !r.Until.After(r.From.Time) {
			l.add(l.keyLine(i, "until"), id, "until %s is not after from %s", r.Until, r.From)
		}
		kinds, params := r.blocks()
		if len(kinds) != 1 {
			if len(kinds) == 0 {
				l.add(line, id, "no parameter block: want exactly one of %s", strings.Join(allKinds(), ", "))
			} else {
				l.add(line, id, "more than one parameter block: %s", strings.Join(kinds, ", "))
			}
			continue
		}
		switch {
		case r.Jurisdiction == "" && decidingKinds[kinds[0]]:
			l.add(line, id, "jurisdiction: required for a %s rule (one of the file's jurisdictions)", kinds[0])
		case r.Jurisdiction != "" && !jurisdictions[r.Jurisdiction]:
			l.add(l.keyLine(i, "jurisdiction"), id, "jurisdiction: unknown jurisdiction %q (declare it under jurisdictions)", r.Jurisdiction)
		}
		if r.Releasable && r.Jurisdiction == "" {
			l.add(l.keyLine(i, "releasable"), id, "releasable: only a rule of a jurisdiction can be released by its authority")
		}
		e := &entry{doc: r, Rule: Rule{
			ID: id, Kind: kinds[0], Source: r.Source, SourceTitle: known[r.Source], Jurisdiction: r.Jurisdiction, Releasable: r.Releasable,
			Until: r.Until, Summary: r.Summary, Note: r.Note, Params: params[0], Line: l.keyLine(i, "id"),
		}}
		if r.From != nil {
			e.From = *r.From
		}
		kl := func(key string) int { return l.keyLine(i, kinds[0]+"."+key) }
		v := &kindValidator{l: l, id: id, line: kl, regions: regions, groups: groups}
		v.validate(r, e, p.env)
		p.entries = append(p.entries, e)
	}
	l.checkTimelines(p.entries)
}

func allKinds() []string {
	var r ruleDoc
	r.Classification, r.Regions, r.CountryGroup, r.Destination = &ClassificationParams{}, &RegionParams{}, &CountryGroupParams{}, &DestinationParams{}
	r.ParentHQ, r.ApprovedCustomer, r.EndUse, r.EndUser = &ParentHQParams{}, &ApprovedCustomerParams{}, &EndUseParams{}, &EndUserParams{}
	r.Affiliates, r.BlockedOwnership = &OwnershipParams{}, &OwnershipParams{}
	r.Letter, r.Exception = &LetterParams{}, &ExceptionParams{}
	r.VolumeCap, r.LabTest, r.Route, r.Check, r.Duty = &VolumeCapParams{}, &LabTestParams{}, &RouteParams{}, &CheckParams{}, &DutyParams{}
	r.ReExport, r.ConsigneeKYC = &ReExportParams{}, &ConsigneeKYCParams{}
	r.ImportPermit, r.LotAge, r.RedFlags, r.Geolocation, r.Allocation = &ImportPermitParams{}, &LotAgeParams{}, &RedFlagParams{}, &GeolocationParams{}, &AllocationParams{}
	r.Screening = &ScreeningParams{}
	r.Watch = &WatchParams{}
	r.Attestation = &AttestationParams{}
	k, _ := r.blocks()
	return k
}

// checkTimelines requires the versions of one id to be of one kind and to
// follow each other without overlap or gap, and a single-instance kind to
// use one id.
func (l *loader) checkTimelines(entries []*entry) {
	byID := map[string][]*entry{}
	var ids []string
	kindID := map[string]*entry{}
	for _, e := range entries {
		if e.doc.From == nil {
			continue
		}
		if _, ok := byID[e.ID]; !ok {
			ids = append(ids, e.ID)
		}
		byID[e.ID] = append(byID[e.ID], e)
		if !multiKinds[e.Kind] {
			if first, ok := kindID[e.Kind]; ok && first.ID != e.ID {
				l.add(e.Line, e.ID, "a second %s rule: %s rules share one id (%s, line %d) and differ by dates", e.Kind, e.Kind, first.ID, first.Line)
			} else if !ok {
				kindID[e.Kind] = e
			}
		}
	}
	for _, id := range ids {
		vs := byID[id]
		sort.SliceStable(vs, func(i, j int) bool { return vs[i].From.Before(vs[j].From.Time) })
		for i := 1; i < len(vs); i++ {
			prev, cur := vs[i-1], vs[i]
			if cur.Kind != prev.Kind {
				l.add(cur.Line, id, "version from %s is a %s rule, the version at line %d a %s rule", cur.From, cur.Kind, prev.Line, prev.Kind)
			}
			switch {
			case prev.Until == nil:
				l.add(cur.Line, id, "overlapping effective dates: version from %s starts while the version from %s (line %d) has no until", cur.From, prev.From, prev.Line)
			case prev.Until.After(cur.From.Time):
				l.add(cur.Line, id, "overlapping effective dates: version from %s starts before the version at line %d ends (%s)", cur.From, prev.Line, prev.Until)
			case prev.Until.Before(cur.From.Time):
				l.add(cur.Line, id, "gap in effective dates: nothing in force from %s (until of line %d) to %s", prev.Until, prev.Line, cur.From)
			}
		}
	}
}

// buildSegments precomputes the rule set of every stretch between effective
// dates, so that At is a binary search and a decision never filters rules.
func (p *Policy) buildSegments(l *loader) {
	// Bounds are instants: a day and a zoned time that name the same
	// instant are one bound, whichever way the file wrote them.
	var bounds []Instant
	for _, e := range p.entries {
		bounds = append(bounds, e.From)
		if e.Until != nil {
			bounds = append(bounds, *e.Until)
		}
	}
	slices.SortStableFunc(bounds, func(a, b Instant) int { return a.Compare(b.Time) })
	bounds = slices.CompactFunc(bounds, func(a, b Instant) bool { return a.Equal(b.Time) })
	seen := map[string]bool{}
	for _, b := range bounds {
		var in []*entry
		for _, e := range p.entries {
			if !e.From.After(b.Time) && (e.Until == nil || e.Until.After(b.Time)) {
				in = append(in, e)
			}
		}
		set, conflicts := newRuleSet(p, in)
		for _, c := range conflicts {
			key := fmt.Sprintf("%s %d %s", c.e.ID, c.e.Line, c.msg)
			if !seen[key] {
				seen[key] = true
				l.add(c.e.Line, c.e.ID, "from %s: %s", b, c.msg)
			}
		}
		p.segments = append(p.segments, segment{start: b.Time, set: set})
	}
}

// Name is the policy's name from its file.
func (p *Policy) Name() string { return p.name }

// Jurisdictions lists the regimes the file declares.
func (p *Policy) Jurisdictions() []Jurisdiction { return slices.Clone(p.jurisdictions) }

// JurisdictionOf returns the jurisdiction a party of role in country speaks
// for, if any: the issuer of its grants and the releaser of its holds.
func (p *Policy) JurisdictionOf(role domain.Role, country string) (Jurisdiction, bool) {
	for _, j := range p.jurisdictions {
		if j.Authority.Role == string(role) && slices.Contains(j.Authority.Countries, country) {
			return j, true
		}
	}
	return Jurisdiction{}, false
}

// Sources lists the sources the file declares.
func (p *Policy) Sources() []Source { return slices.Clone(p.sources) }

// Versions lists every rule version in the file, in file order.
func (p *Policy) Versions() []Rule {
	out := make([]Rule, len(p.entries))
	for i, e := range p.entries {
		out[i] = e.Rule
	}
	return out
}

// Boundaries lists the instants at which the rules in force change, in order.
func (p *Policy) Boundaries() []time.Time {
	out := make([]time.Time, len(p.segments))
	for i, s := range p.segments {
		out[i] = s.start
	}
	return out
}

// At returns the rules in force at instant t. Before the earliest rule takes
// effect nothing is in force and every lookup falls back to its documented
// default.
func (p *Policy) At(t time.Time) Rules {
	i := sort.Search(len(p.segments), func(i int) bool { return p.segments[i].start.After(t) }) - 1
	r := Rules{Policy: p.name, At: t}
	if i < 0 {
		r.set = &ruleSet{}
		return r
	}
	r.set = p.segments[i].set
	r.Rules = r.set.views
	r.Sources = r.set.sources
	return r
}

// DecideOrder decides an order under the rules in force at facts.At.
func (p *Policy) DecideOrder(facts OrderFacts) Decision { return p.At(facts.At).DecideOrder(facts) }

func jsonString(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}
