package policy

import (
	"fmt"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/cost"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/interpreter"
	"github.com/chipgate/chipgate/internal/domain"
)

// celVars declares the names a CEL expression may use: the order facts, plus
// the values the engine derives from them (tpp, pd, eccn, region). Keeping
// them flat and typed lets the checker refuse a misspelt name or a string
// compared with a number when the file is loaded, not when an order arrives.
var celVars = []struct {
	name string
	typ  *cel.Type
	doc  string
}{
	{"now", cel.TimestampType, "the order's instant"},
	{"product", cel.StringType, "product slug"},
	{"eccn", cel.StringType, "classification, e.g. 3A090.a or EAR99"},
	{"tpp", cel.DoubleType, "total processing performance"},
	{"pd", cel.DoubleType, "performance density (TPP per mm²)"},
	{"bandwidth_gbps", cel.IntType, "total DRAM bandwidth, GB/s"},
	{"memory_gb", cel.IntType, "memory, GB"},
	{"launch_date", cel.TimestampType, "day commercially available in the US"},
	{"quantity", cel.IntType, "units ordered"},
	{"destination", cel.StringType, "ISO country of the consignee"},
	{"region", cel.StringType, "region of the destination: US, CN or other"},
	{"ship_from", cel.StringType, "ISO country the goods leave from"},
	{"reexport", cel.BoolType, "the goods are already abroad (re-export or in-country transfer)"},
	{"buyer", cel.StringType, "buyer party slug"},
	{"buyer_class", cel.StringType, "platform, cloud, sme, research, university, government"},
	{"sector", cel.StringType, "buyer sector: private, soe, military, sensitive_government, critical_infrastructure"},
	{"parent_hq", cel.StringType, "ISO country of the ultimate parent's headquarters"},
	{"approval", cel.StringType, "buyer approval: approved, pending, denied, revoked, none"},
	{"screening", cel.StringType, "buyer screening: clear, potential_match, match, pending"},
	{"end_use", cel.StringType, "declared end use"},
	{"site_country", cel.StringType, "ISO country of the deployment site"},
	{"cloud", cel.BoolType, "the chips are offered as a cloud service"},
	{"site_power_kw", cel.DoubleType, "power the site can show, kW"},
	{"kyc_remote_access", cel.BoolType, "consignee KYC blocks unauthorized remote access"},
	{"domestic_ratio", cel.DoubleType, "buyer's share of domestic chips, 0..1"},
	{"lot_age_days", cel.IntType, "age of the assigned lot, days (-1 when none)"},
	{"shipped_cn_mo", cel.IntType, "cumulative units of the product shipped to CN+MO"},
	{"shipped_us", cel.IntType, "cumulative units of the product shipped to US end users"},
}

// newEnv builds the CEL environment of order facts.
func newEnv() (*cel.Env, error) {
	opts := make([]cel.EnvOption, 0, len(celVars))
	for _, v := range celVars {
		opts = append(opts, cel.Variable(v.name, v.typ))
	}
	return cel.NewEnv(opts...)
}

// MaxExprBytes bounds a CEL expression's source, and MaxExprCost its
// worst-case evaluation cost (CEL's cost units, about one per operation):
// license conditions are typed in by people, and every order evaluates
// them, so one must not be able to stall the decisions with a huge or
// nested-comprehension expression. Real conditions cost tens.
const (
	MaxExprBytes = 2000
	MaxExprCost  = 10_000
)

// factSizes tells the cost estimator that every fact is small: the string
// facts are slugs, codes and short words.
type factSizes struct{}

func (factSizes) EstimateSize(n cost.AstNode) *cost.SizeEstimate {
	if len(n.Path()) == 1 { // a fact variable
		return &cost.SizeEstimate{Min: 0, Max: 256}
	}
	return nil
}

func (factSizes) EstimateCallCost(string, string, *cost.AstNode, []cost.AstNode) *cost.CallEstimate {
	return nil
}

// compileBool compiles a CEL expression that must yield a bool.
func compileBool(env *cel.Env, expr string) (cel.Program, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, fmt.Errorf("empty CEL expression")
	}
	if len(expr) > MaxExprBytes {
		return nil, fmt.Errorf("CEL expression of %d bytes; at most %d", len(expr), MaxExprBytes)
	}
	ast, iss := env.Compile(expr)
	if iss != nil && iss.Err() != nil {
		var msgs []string
		for _, e := range iss.Errors() {
			msgs = append(msgs, fmt.Sprintf("column %d: %s", e.Location.Column()+1, e.Message))
		}
		return nil, fmt.Errorf("CEL %q: %s", expr, strings.Join(msgs, "; "))
	}
	if !ast.OutputType().IsExactType(cel.BoolType) {
		return nil, fmt.Errorf("CEL: %q yields %s, want bool", expr, ast.OutputType())
	}
	if est, err := env.EstimateCost(ast, factSizes{}); err != nil {
		return nil, fmt.Errorf("CEL %q: %v", expr, err)
	} else if est.Max > MaxExprCost {
		return nil, fmt.Errorf("CEL %q: could cost %d to evaluate; at most %d", expr, est.Max, MaxExprCost)
	}
	// OptOptimize folds constants at plan time; the program is then
	// evaluated many times and never recompiled.
	prg, err := env.Program(ast, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, fmt.Errorf("CEL: %v", err)
	}
	return prg, nil
}

// Condition is a compiled CEL expression over the order facts, such as a
// license condition `end_use != "surveillance" && site_country == "CN"`. It
// is compiled and type-checked once, when the license or permit is loaded,
// and evaluated for each order.
type Condition struct {
	expr string
	prg  cel.Program
}

// CompileCondition compiles and type-checks a condition. It builds a CEL
// environment per call (about a millisecond); a caller compiling many should
// use (*Policy).CompileCondition, which reuses the policy's environment.
// Returns EINVALID-worthy errors: the message says what is wrong.
func CompileCondition(expr string) (Condition, error) {
	env, err := newEnv()
	if err != nil {
		return Condition{}, err
	}
	return compileCondition(env, expr)
}

// CompileCondition compiles a condition with the policy's CEL environment.
func (p *Policy) CompileCondition(expr string) (Condition, error) {
	return compileCondition(p.env, expr)
}

func compileCondition(env *cel.Env, expr string) (Condition, error) {
	prg, err := compileBool(env, expr)
	if err != nil {
		return Condition{}, err
	}
	return Condition{expr: expr, prg: prg}, nil
}

// String returns the expression's source text.
func (c Condition) String() string { return c.expr }

// MarshalJSON writes the expression's source text.
func (c Condition) MarshalJSON() ([]byte, error) { return jsonString(c.expr), nil }

// eval runs a compiled boolean program. An evaluation error (for example an
// overflow) counts as false: a condition that cannot be shown to hold does
// not hold.
func eval(prg cel.Program, a *activation) (bool, error) {
	if prg == nil {
		return false, fmt.Errorf("condition not compiled")
	}
	v, _, err := prg.Eval(a)
	if err != nil {
		return false, err
	}
	b, ok := v.(types.Bool)
	if !ok {
		return false, fmt.Errorf("CEL yielded %v, want bool", v.Type())
	}
	return bool(b), nil
}

// activation resolves CEL names straight from the facts, with no map built
// per order: that keeps a decision within a couple of microseconds.
type activation struct {
	f      *OrderFacts
	tpp    float64
	pd     float64
	eccn   ref.Val
	region ref.Val
	boxes  *boxes
}

// boxes keeps the CEL values of the facts' strings from one decision to the
// next (the decider holding them is recycled): boxing a string allocates,
// and consecutive orders mostly name the same countries and end uses.
type boxes [numStringVars]struct {
	s string
	v ref.Val
}

// String variables, by slot in boxes.
const (
	boxProduct = iota
	boxDestination
	boxShipFrom
	boxBuyer
	boxBuyerClass
	boxSector
	boxParentHQ
	boxApproval
	boxScreening
	boxEndUse
	boxSiteCountry
	numStringVars
)

// str returns the CEL string for s, reusing the last one boxed in slot.
func (a *activation) str(slot int, s string) ref.Val {
	if a.boxes == nil {
		return types.String(s)
	}
	b := &a.boxes[slot]
	if b.v == nil || b.s != s {
		b.s, b.v = s, types.String(s)
	}
	return b.v
}

var _ interpreter.Activation = (*activation)(nil)

// ResolveName returns the CEL value of a declared name.
func (a *activation) ResolveName(name string) (any, bool) {
	f := a.f
	switch name {
	case "now":
		return types.Timestamp{Time: f.At}, true
	case "product":
		return a.str(boxProduct, f.Product), true
	case "eccn":
		return a.eccn, true
	case "tpp":
		return types.Double(a.tpp), true
	case "pd":
		return types.Double(a.pd), true
	case "bandwidth_gbps":
		return types.Int(f.Spec.BandwidthGBps), true
	case "memory_gb":
		return types.Int(f.Spec.MemoryGB), true
	case "launch_date":
		return types.Timestamp{Time: f.LaunchDate}, true
	case "quantity":
		return types.Int(f.Quantity), true
	case "destination":
		return a.str(boxDestination, f.Destination), true
	case "region":
		return a.region, true
	case "ship_from":
		return a.str(boxShipFrom, f.ShipFrom), true
	case "reexport":
		return types.Bool(f.ReExport), true
	case "buyer":
		return a.str(boxBuyer, f.Buyer), true
	case "buyer_class":
		return a.str(boxBuyerClass, f.BuyerClass), true
	case "sector":
		return a.str(boxSector, f.Sector), true
	case "parent_hq":
		return a.str(boxParentHQ, f.ParentHQ), true
	case "approval":
		return a.str(boxApproval, string(f.Approval)), true
	case "screening":
		return a.str(boxScreening, string(f.Screening)), true
	case "end_use":
		return a.str(boxEndUse, f.EndUse), true
	case "site_country":
		return a.str(boxSiteCountry, f.SiteCountry), true
	case "cloud":
		return types.Bool(f.CloudService), true
	case "site_power_kw":
		return types.Double(f.SitePowerKW), true
	case "kyc_remote_access":
		return types.Bool(f.KYCRemoteAccess), true
	case "domestic_ratio":
		return types.Double(float64(f.DomesticChipRatio) / domain.RateScale), true
	case "lot_age_days":
		if !f.LotAssigned {
			return types.Int(-1), true
		}
		return types.Int(f.LotAgeDays), true
	case "shipped_cn_mo":
		return types.Int(f.ShippedCNMO), true
	case "shipped_us":
		return types.Int(f.ShippedUS), true
	}
	return nil, false
}

// Parent returns nil: the facts are the only scope.
func (a *activation) Parent() interpreter.Activation { return nil }
