package sim

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/chipgate/chipgate/internal/domain"
)

// Scenario is a simulation's input, as written in a scenario file.
type Scenario struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	// Seed drives every random draw (generated buyers, order timing, lab
	// throughput); a --seed flag replaces it.
	Seed uint64 `yaml:"seed"`
	// Start is the first day of week 0, "YYYY-MM-DD".
	Start string `yaml:"start"`
	// Weeks is the horizon (default 52).
	Weeks int `yaml:"weeks"`
	// Policy is a policy file, relative to the scenario file; empty means
	// the embedded default policy.
	Policy string `yaml:"policy"`
	// Product is the catalog slug of the chip sold (h200).
	Product string `yaml:"product"`
	// UnitPrice is the declared customs value of one unit, "USD 30000.00".
	UnitPrice string `yaml:"unit_price"`

	// Prior are units shipped since the program began and before the
	// horizon: they count toward the China cap like shipments in it.
	Prior      Prior      `yaml:"prior_shipments"`
	Production Production `yaml:"production"`
	Lab        Lab        `yaml:"lab"`
	Transit    Transit    `yaml:"transit_days"`
	Allocation Allocation `yaml:"allocation"`

	Buyers   []BuyerSpec   `yaml:"buyers"`
	Groups   []GroupSpec   `yaml:"generate"`
	Variants []VariantSpec `yaml:"variants"`

	// dir is the scenario file's directory, for a relative Policy.
	dir string
}

// Prior are units shipped before the horizon, per region of destination.
type Prior struct {
	US int64 `yaml:"us"`
	CN int64 `yaml:"cn"`
}

// Production is the supply: inventory at the start and weekly lots.
type Production struct {
	// InitialInventory units exist at the start, made in equal weekly lots
	// over the InventoryWeeks before it (so that some are old enough for a
	// minimum lot age and some are not).
	InitialInventory int64 `yaml:"initial_inventory"`
	InventoryWeeks   int   `yaml:"inventory_weeks"`
	// WeeklyUnits is one lot made and available each week of the horizon.
	WeeklyUnits int64 `yaml:"weekly_units"`
}

// Lab is the independent US test lab every unit to a lab-tested region
// passes. Its weekly capacity is the policy's lab_test parameter; a
// scenario may set it, which patches the policy like a variant does.
type Lab struct {
	WeeklyCapacity int64 `yaml:"weekly_capacity"`
	// CapacityJitter lowers each week's capacity by a seeded uniform draw
	// of up to this share ("20%"): staff, retests, holidays.
	CapacityJitter string `yaml:"capacity_jitter"`
}

// Transit is days in transit: TW to a buyer outside the lab's regions
// (Direct), TW to the US lab (ToLab), and from the lab to the buyer
// (LabToBuyer).
type Transit struct {
	Direct     int `yaml:"direct"`
	ToLab      int `yaml:"to_lab"`
	LabToBuyer int `yaml:"lab_to_buyer"`
}

// Allocation tunes how the vendor shares scarce units inside a tier.
type Allocation struct {
	// Weight is "quantity" (an order's fair share grows with its size: pro
	// rata, the default) or "equal" (every order alike: max-min fairness).
	Weight string `yaml:"weight"`
	// Plan is "week" (the default: each week allocates what is on hand to
	// the orders placed so far) or "forecast" (each week plans the rest of
	// the horizon with the production to come and the US and other-region
	// orders still to be placed, as the vendor's forecast, and ships what
	// the plan gives the current week: supply is kept back for the tiers
	// served first, so that later US orders are not delayed).
	Plan string `yaml:"plan"`
}

// BuyerSpec is one named buyer and its demand over the horizon.
type BuyerSpec struct {
	Name    string `yaml:"name"`
	Country string `yaml:"country"`
	// Class is a domain.BuyerClass: platform, cloud, sme, research,
	// university, government.
	Class  string `yaml:"class"`
	Sector string `yaml:"sector"`
	EndUse string `yaml:"end_use"`
	// Approved, Screening and KYC are the vetting facts; by default the
	// buyer is approved, screened clear and certifies KYC.
	Approved  *bool  `yaml:"approved"`
	Screening string `yaml:"screening"`
	KYC       *bool  `yaml:"kyc"`
	// PowerShort: the buyer's sites cannot show the power its orders need.
	PowerShort bool `yaml:"power_short"`
	Cloud      bool `yaml:"cloud_service"`
	// LicenseUnits and PermitUnits are the export license and import
	// permit quantities; absent means they cover all the buyer's demand,
	// 0 means none on file.
	LicenseUnits *int64 `yaml:"license_units"`
	PermitUnits  *int64 `yaml:"permit_units"`
	// Units are ordered over the horizon in Orders orders, evenly spaced
	// from week FromWeek to ToWeek (default the last week).
	Units    int64 `yaml:"units"`
	Orders   int   `yaml:"orders"`
	FromWeek int   `yaml:"from_week"`
	ToWeek   *int  `yaml:"to_week"`
}

// GroupSpec generates Count buyers named Prefix-001… with seeded demand:
// many small buyers without writing each one down.
type GroupSpec struct {
	Prefix  string `yaml:"prefix"`
	Count   int    `yaml:"count"`
	Country string `yaml:"country"`
	Class   string `yaml:"class"`
	Sector  string `yaml:"sector"`
	EndUse  string `yaml:"end_use"`
	Cloud   bool   `yaml:"cloud_service"`
	// Units and Orders per buyer are drawn uniformly in [min, max].
	Units  Range `yaml:"units"`
	Orders Range `yaml:"orders"`
	// FromWeek and ToWeek bound the weeks orders are placed in.
	FromWeek int  `yaml:"from_week"`
	ToWeek   *int `yaml:"to_week"`
	// Shares of the group ("90%") that are approved, potential matches on
	// a list, without KYC, short of power; and the share of each buyer's
	// demand its license and permit cover (default 100%).
	Approved       string `yaml:"approved"`
	PotentialMatch string `yaml:"potential_match"`
	NoKYC          string `yaml:"no_kyc"`
	PowerShort     string `yaml:"power_short"`
	Licensed       string `yaml:"licensed"`
}

// Range is an inclusive range of integers.
type Range struct {
	Min int64 `yaml:"min"`
	Max int64 `yaml:"max"`
}

// VariantSpec is one policy variant: parameters of the loaded policy to
// change. An absent field keeps the policy's value.
type VariantSpec struct {
	Name string `yaml:"name"`
	// Duty is the Section 232 rate, "25%", "15%" or "0%".
	Duty *string `yaml:"duty"`
	// CNCap is the China share of US shipments, "50%", or "none" (the
	// volume-cap rule is taken out of the policy).
	CNCap *string `yaml:"cn_cap"`
	// MinLotAgeDays is the least lot age for China.
	MinLotAgeDays *int `yaml:"min_lot_age_days"`
	// Reserve is the share kept for the reserve classes (sme, research,
	// university), "10%" or "0%".
	Reserve *string `yaml:"reserve"`
}

// Load reads and validates a scenario file. Errors are EINVALID and name
// the file and the first bad field.
func Load(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	s, err := Parse(data)
	if err != nil {
		var e *domain.Error
		if errors.As(err, &e) {
			return nil, domain.Errorf(e.Code, "scenario %s: %s", path, e.Message)
		}
		return nil, fmt.Errorf("scenario %s: %w", path, err)
	}
	s.dir = filepath.Dir(path)
	return s, nil
}

// Parse reads and validates a scenario from YAML. A relative policy path
// is taken relative to the working directory. Errors are EINVALID and name
// the first bad field by its path, e.g. "buyers[2].country".
func Parse(data []byte) (*Scenario, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, domain.Errorf(domain.EINVALID, "%s", yamlProblem(err))
	}
	if root.Kind == 0 || len(root.Content) == 0 {
		return nil, domain.Errorf(domain.EINVALID, "empty scenario")
	}
	// Check the shape first, so that an unknown or mistyped field is
	// named by its path rather than by the decoder's Go type names.
	if path, line, msg := checkShape(root.Content[0], reflect.TypeOf(Scenario{}), ""); msg != "" {
		if path == "" {
			return nil, domain.Errorf(domain.EINVALID, "line %d: %s", line, msg)
		}
		return nil, domain.Invalid(path, "%s (line %d)", msg, line)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var s Scenario
	if err := dec.Decode(&s); err != nil && !errors.Is(err, io.EOF) {
		return nil, domain.Errorf(domain.EINVALID, "%s", yamlProblem(err))
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// yamlProblem is a YAML error on one line, as the CLI reports errors: the
// decoder lists several problems (a key defined twice, say) one per line.
func yamlProblem(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		return strings.Join(te.Errors, "; ")
	}
	return strings.Join(strings.Fields(strings.TrimPrefix(err.Error(), "yaml: ")), " ")
}

// checkShape walks a YAML node against the Go type it decodes into and
// returns the path, line and problem of the first unknown field or scalar
// of the wrong kind.
func checkShape(n *yaml.Node, t reflect.Type, path string) (string, int, string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return "", 0, ""
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return path, n.Line, "want a mapping of fields"
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			f, ok := fieldByTag(t, key)
			sub := joinPath(path, key)
			if !ok {
				return sub, n.Content[i].Line, "unknown field"
			}
			if p, l, m := checkShape(n.Content[i+1], f.Type, sub); m != "" {
				return p, l, m
			}
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return path, n.Line, "want a list"
		}
		for i, c := range n.Content {
			if p, l, m := checkShape(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); m != "" {
				return p, l, m
			}
		}
	case reflect.Int, reflect.Int64:
		if n.Kind != yaml.ScalarNode {
			return path, n.Line, "want a whole number"
		}
		if _, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64); err != nil {
			return path, n.Line, fmt.Sprintf("want a whole number, not %q", n.Value)
		}
	case reflect.Uint64:
		if n.Kind != yaml.ScalarNode {
			return path, n.Line, "want a whole number"
		}
		if _, err := strconv.ParseUint(strings.ReplaceAll(n.Value, "_", ""), 0, 64); err != nil {
			return path, n.Line, fmt.Sprintf("want a non-negative whole number, not %q", n.Value)
		}
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!bool") {
			return path, n.Line, fmt.Sprintf("want true or false, not %q", n.Value)
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			return path, n.Line, "want a single value"
		}
	}
	return "", 0, ""
}

func fieldByTag(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if name, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); name == key && f.IsExported() {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// Limits keep a hostile or mistyped scenario from asking for unbounded
// work: a few million orders at most.
const (
	maxWeeks        = 520
	maxUnits        = 1_000_000_000
	maxBuyers       = 100_000
	maxOrdersEach   = 520
	maxVariants     = 32
	maxTransitDays  = 365
	maxInventoryWks = 520
)

// Validate checks the scenario and fills defaults. It returns EINVALID
// naming the first bad field.
func (s *Scenario) Validate() error {
	var pr domain.Problems
	if strings.TrimSpace(s.Name) == "" {
		pr.Add("name", "is required")
	}
	if _, err := time.Parse(time.DateOnly, s.Start); err != nil {
		pr.Add("start", "want a date YYYY-MM-DD, not %q", s.Start)
	}
	if s.Weeks == 0 {
		s.Weeks = 52
	}
	if s.Weeks < 1 || s.Weeks > maxWeeks {
		pr.Add("weeks", "must be between 1 and %d", maxWeeks)
	}
	if s.Product == "" {
		pr.Add("product", "is required (a catalog slug such as h200)")
	}
	if _, err := parseMoney(s.UnitPrice); err != nil {
		pr.Add("unit_price", "%v", err)
	}
	if s.Prior.US < 0 || s.Prior.US > maxUnits || s.Prior.CN < 0 || s.Prior.CN > maxUnits {
		pr.Add("prior_shipments", "units must be between 0 and %d", maxUnits)
	}
	p := &s.Production
	if p.InitialInventory < 0 || p.InitialInventory > maxUnits {
		pr.Add("production.initial_inventory", "must be between 0 and %d", maxUnits)
	}
	if p.InventoryWeeks == 0 {
		p.InventoryWeeks = 1
	}
	if p.InventoryWeeks < 1 || p.InventoryWeeks > maxInventoryWks {
		pr.Add("production.inventory_weeks", "must be between 1 and %d", maxInventoryWks)
	}
	if p.WeeklyUnits < 0 || p.WeeklyUnits > maxUnits {
		pr.Add("production.weekly_units", "must be between 0 and %d", maxUnits)
	}
	if p.InitialInventory == 0 && p.WeeklyUnits == 0 {
		pr.Add("production", "produces nothing: set initial_inventory or weekly_units")
	}
	if s.Lab.WeeklyCapacity < 0 || s.Lab.WeeklyCapacity > maxUnits {
		pr.Add("lab.weekly_capacity", "must be between 0 and %d (0 keeps the policy's)", maxUnits)
	}
	if s.Lab.CapacityJitter != "" {
		if _, err := domain.ParseRate(s.Lab.CapacityJitter); err != nil {
			pr.Add("lab.capacity_jitter", "%v", err)
		}
	}
	for _, f := range []struct {
		path string
		v    int
	}{{"transit_days.direct", s.Transit.Direct}, {"transit_days.to_lab", s.Transit.ToLab}, {"transit_days.lab_to_buyer", s.Transit.LabToBuyer}} {
		if f.v < 0 || f.v > maxTransitDays {
			pr.Add(f.path, "must be between 0 and %d", maxTransitDays)
		}
	}
	switch s.Allocation.Weight {
	case "":
		s.Allocation.Weight = "quantity"
	case "quantity", "equal":
	default:
		pr.Add("allocation.weight", "want quantity or equal, not %q", s.Allocation.Weight)
	}
	switch s.Allocation.Plan {
	case "":
		s.Allocation.Plan = "week"
	case "week", "forecast":
	default:
		pr.Add("allocation.plan", "want week or forecast, not %q", s.Allocation.Plan)
	}
	names := map[string]string{}
	claim := func(path, name string) {
		if prev, dup := names[name]; dup {
			pr.Add(path, "buyer %q is also %s", name, prev)
		}
		names[name] = path
	}
	last := s.Weeks - 1
	weeks := func(path string, from int, to *int) {
		if from < 0 || from > last {
			pr.Add(path+".from_week", "must be between 0 and %d", last)
		}
		if to != nil && (*to < from || *to > last) {
			pr.Add(path+".to_week", "must be between from_week and %d", last)
		}
	}
	nBuyers := len(s.Buyers)
	for i := range s.Buyers {
		b := &s.Buyers[i]
		path := fmt.Sprintf("buyers[%d]", i)
		if b.Name == "" {
			pr.Add(path+".name", "is required")
		}
		claim(path, b.Name)
		checkParty(&pr, path, b.Country, b.Class)
		switch b.Screening {
		case "":
			b.Screening = "clear"
		case "clear", "potential_match", "match", "pending":
		default:
			pr.Add(path+".screening", "want clear, potential_match, match or pending, not %q", b.Screening)
		}
		if b.Units < 1 || b.Units > maxUnits {
			pr.Add(path+".units", "must be between 1 and %d", maxUnits)
		}
		if b.Orders == 0 {
			b.Orders = 1
		}
		if b.Orders < 1 || b.Orders > maxOrdersEach || int64(b.Orders) > max(b.Units, 1) {
			pr.Add(path+".orders", "must be between 1 and %d and at most units", maxOrdersEach)
		}
		weeks(path, b.FromWeek, b.ToWeek)
		for _, f := range []struct {
			name string
			v    *int64
		}{{"license_units", b.LicenseUnits}, {"permit_units", b.PermitUnits}} {
			if f.v != nil && (*f.v < 0 || *f.v > maxUnits) {
				pr.Add(path+"."+f.name, "must be between 0 and %d", maxUnits)
			}
		}
	}
	for i := range s.Groups {
		g := &s.Groups[i]
		path := fmt.Sprintf("generate[%d]", i)
		if g.Prefix == "" {
			pr.Add(path+".prefix", "is required")
		}
		claim(path, g.Prefix)
		if g.Count < 1 || g.Count > maxBuyers {
			pr.Add(path+".count", "must be between 1 and %d", maxBuyers)
		}
		nBuyers += g.Count
		checkParty(&pr, path, g.Country, g.Class)
		if g.Units.Min < 1 || g.Units.Max < g.Units.Min || g.Units.Max > maxUnits {
			pr.Add(path+".units", "want 1 ≤ min ≤ max ≤ %d", maxUnits)
		}
		if g.Orders.Min == 0 && g.Orders.Max == 0 {
			g.Orders = Range{1, 1}
		}
		if g.Orders.Min < 1 || g.Orders.Max < g.Orders.Min || g.Orders.Max > maxOrdersEach || g.Orders.Max > g.Units.Min {
			pr.Add(path+".orders", "want 1 ≤ min ≤ max ≤ %d and max ≤ units.min", maxOrdersEach)
		}
		weeks(path, g.FromWeek, g.ToWeek)
		for _, f := range []struct {
			name string
			v    *string
			def  string
		}{{"approved", &g.Approved, "100%"}, {"potential_match", &g.PotentialMatch, "0%"}, {"no_kyc", &g.NoKYC, "0%"}, {"power_short", &g.PowerShort, "0%"}, {"licensed", &g.Licensed, "100%"}} {
			if *f.v == "" {
				*f.v = f.def
			}
			if _, err := domain.ParseRate(*f.v); err != nil {
				pr.Add(path+"."+f.name, "%v", err)
			}
		}
	}
	if nBuyers == 0 {
		pr.Add("buyers", "no buyers: list some under buyers or generate them under generate")
	}
	if nBuyers > maxBuyers {
		pr.Add("generate", "%d buyers, more than %d", nBuyers, maxBuyers)
	}
	if len(s.Variants) == 0 {
		s.Variants = []VariantSpec{{Name: "policy"}}
	}
	if len(s.Variants) > maxVariants {
		pr.Add("variants", "at most %d variants", maxVariants)
	}
	seen := map[string]bool{}
	for i, v := range s.Variants {
		path := fmt.Sprintf("variants[%d]", i)
		switch {
		case v.Name == "":
			pr.Add(path+".name", "is required")
		case seen[v.Name]:
			pr.Add(path+".name", "variant %q is named twice", v.Name)
		case strings.ContainsAny(v.Name, ",\"\n\r"):
			pr.Add(path+".name", "may not contain commas, quotes or line breaks (it names a CSV column)")
		}
		seen[v.Name] = true
		if v.Duty != nil {
			if _, err := domain.ParseRate(*v.Duty); err != nil {
				pr.Add(path+".duty", "%v", err)
			}
		}
		if v.CNCap != nil && *v.CNCap != "none" {
			if _, err := domain.ParseRate(*v.CNCap); err != nil {
				pr.Add(path+".cn_cap", "want a share such as \"50%%\" or none: %v", err)
			}
		}
		if v.MinLotAgeDays != nil && (*v.MinLotAgeDays < 0 || *v.MinLotAgeDays > 3650) {
			pr.Add(path+".min_lot_age_days", "must be between 0 and 3650")
		}
		if v.Reserve != nil {
			if _, err := domain.ParseRate(*v.Reserve); err != nil {
				pr.Add(path+".reserve", "%v", err)
			}
		}
	}
	return pr.Err()
}

func checkParty(pr *domain.Problems, path, country, class string) {
	if len(country) != 2 || strings.ToUpper(country) != country {
		pr.Add(path+".country", "want an ISO country code such as CN, not %q", country)
	}
	if !domain.BuyerClass(class).Valid() {
		pr.Add(path+".class", "want one of %v, not %q", domain.BuyerClasses, class)
	}
}

// parseMoney reads "USD 30000.00" exactly into minor units (two decimals).
func parseMoney(s string) (domain.Money, error) {
	cur, amt, ok := strings.Cut(strings.TrimSpace(s), " ")
	if !ok || len(cur) != 3 || strings.ToUpper(cur) != cur {
		return domain.Money{}, fmt.Errorf("want a currency and an amount, \"USD 30000.00\", not %q", s)
	}
	amt = strings.TrimSpace(amt)
	r, ok := new(big.Rat).SetString(amt)
	if !ok || strings.ContainsAny(amt, "eE/") {
		return domain.Money{}, fmt.Errorf("amount %q is not a decimal number", amt)
	}
	r.Mul(r, big.NewRat(100, 1))
	if !r.IsInt() || r.Sign() <= 0 || !r.Num().IsInt64() || r.Num().Int64() > 1e15 {
		return domain.Money{}, fmt.Errorf("amount %q: want a positive amount in whole cents", amt)
	}
	return domain.Money{Minor: r.Num().Int64(), Currency: cur}, nil
}
