package sim

import "github.com/chipgate/chipgate/internal/domain"

// Result is a simulation's outcome: the scenario's world and, per variant,
// the weekly figures and totals. Its JSON form is summary.json without the
// weekly series (see Summary).
type Result struct {
	Scenario  string       `json:"scenario"`
	Seed      uint64       `json:"seed"`
	Start     string       `json:"start"`
	Weeks     int          `json:"weeks"`
	Product   string       `json:"product"`
	UnitPrice domain.Money `json:"unit_price"`
	// Buyers and Orders count what the scenario generated; OrderedUnits
	// per region are the units ordered over the horizon.
	Buyers       int              `json:"buyers"`
	Orders       int              `json:"orders"`
	OrderedUnits map[string]int64 `json:"ordered_units"`
	Variants     []VariantResult  `json:"variants"`

	buyers []buyer
	dates  []string // first day of each week
}

// Params are a variant's policy parameters as the loaded policy reads
// them back, so the report shows what the engines used, not what was asked.
type Params struct {
	Duty          string `json:"duty"`
	CNCap         string `json:"cn_cap"` // "50%" or "none"
	MinLotAgeDays int    `json:"min_lot_age_days"`
	Reserve       string `json:"reserve"`
	// ReserveClasses are the buyer classes the reserve is kept for; the
	// "sme+research share" is the share of CN units they receive.
	ReserveClasses    []string `json:"reserve_classes"`
	LabWeeklyCapacity int      `json:"lab_weekly_capacity"`
}

// VariantResult is one variant's year.
type VariantResult struct {
	Name      string          `json:"name"`
	Params    Params          `json:"params"`
	Totals    Totals          `json:"totals"`
	Delays    []DelayFigures  `json:"delays"`
	Decisions []DecisionCount `json:"decisions"`
	// Weekly is the week-by-week series (in the CSVs, not summary.json).
	Weekly []WeekFigures `json:"-"`

	// delivered[b][w] is the units buyer b received in week w.
	delivered [][]int64
}

// Totals are a variant's figures over the horizon. Money is exact, in
// minor units of the unit price's currency.
type Totals struct {
	// Units accepted (orders), shipped by the vendor (allocated), and
	// delivered to buyers within the horizon, per region.
	AcceptedUnits  map[string]int64 `json:"accepted_units"`
	ShippedUnits   map[string]int64 `json:"shipped_units"`
	DeliveredUnits map[string]int64 `json:"delivered_units"`
	// CNShareOfUS is cumulative CN shipments over cumulative US shipments
	// at the end (the certification's ratio); CNCapPPM is the cap, or -1.
	CNShareOfUS float64 `json:"cn_share_of_us"`
	CNCapPPM    int64   `json:"cn_cap_ppm"`
	// Money: the declared value shipped, the part of it duty was assessed
	// on, the duty, and what the vendor keeps (value − duty).
	GrossValue    domain.Money `json:"gross_value"`
	DutiableValue domain.Money `json:"dutiable_value"`
	Duty          domain.Money `json:"duty"`
	VendorRevenue domain.Money `json:"vendor_revenue"`
	// DutyLines is the number of shipment lines (one order's units in one
	// week) duty was assessed on, each rounded on its own.
	DutyLines int `json:"duty_lines"`
	// HHICN (0–10,000) is the concentration of units shipped among CN
	// buyers; ReserveShareCN the share of those units that went to the
	// reserve classes.
	HHICN          float64 `json:"hhi_cn"`
	ReserveShareCN float64 `json:"reserve_share_cn"`
	// The lab: units still waiting at the end, the longest queue.
	LabQueueEnd int64 `json:"lab_queue_end"`
	LabQueueMax int64 `json:"lab_queue_max"`
	// Orders by final outcome.
	OrdersAccepted int   `json:"orders_accepted"`
	OrdersHeld     int   `json:"orders_held"`
	OrdersRejected int   `json:"orders_rejected"`
	HeldUnits      int64 `json:"held_units"`
	RejectedUnits  int64 `json:"rejected_units"`
}

// WeekFigures are one week of a variant.
type WeekFigures struct {
	Week int    `json:"week"`
	Date string `json:"date"`
	// Units shipped this week per region, and cumulative US and CN.
	ShippedUS    int64 `json:"shipped_us"`
	ShippedOther int64 `json:"shipped_other"`
	ShippedCN    int64 `json:"shipped_cn"`
	CumUS        int64 `json:"cum_us"`
	CumCN        int64 `json:"cum_cn"`
	// CNShareOfUS is CumCN / CumUS (0 while nothing went to the US).
	CNShareOfUS float64 `json:"cn_share_of_us"`
	// Money this week, minor units.
	Gross    int64 `json:"gross_minor"`
	Dutiable int64 `json:"dutiable_minor"`
	Duty     int64 `json:"duty_minor"`
	// The lab: capacity, units arrived, tested, waiting at the week's end.
	LabCapacity int64 `json:"lab_capacity"`
	LabArrived  int64 `json:"lab_arrived"`
	LabTested   int64 `json:"lab_tested"`
	LabQueue    int64 `json:"lab_queue"`
	// Cumulative concentration among CN buyers.
	HHICN          float64 `json:"hhi_cn"`
	ReserveShareCN float64 `json:"reserve_share_cn"`
}

// DelayFigures are delivery delays of the units delivered within the
// horizon, in days from the order's week to the buyer's receipt, weighted
// by units.
type DelayFigures struct {
	Region string `json:"region"` // US, other, CN or all
	Units  int64  `json:"units"`
	P50    int    `json:"p50_days"`
	P90    int    `json:"p90_days"`
}

// DecisionCount counts orders by final outcome and the rule behind it. An
// order blocked by several rules counts under each. Outcome
// "accepted_after_hold" counts accepted orders by the rule that first held
// them.
type DecisionCount struct {
	Outcome string `json:"outcome"`
	Rule    string `json:"rule"`
	Orders  int    `json:"orders"`
	Units   int64  `json:"units"`
}
