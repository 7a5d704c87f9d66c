package policy

// The parameter blocks of the rule kinds. A rule in the file carries exactly
// one of them under the kind's key; the block's fields are the rule's
// parameters. They are exported so that `GET /api/v1/policy` can show a rule
// exactly as the engine reads it.

// ClassificationParams classifies an item by TPP and performance density
// (ECCN 3A090). Categories are tried in order; the first that matches wins.
type ClassificationParams struct {
	Categories []Category `yaml:"categories" json:"categories"`
	// Otherwise names the classification of an item no category catches.
	Otherwise string `yaml:"otherwise" json:"otherwise"`
}

// Category is one ECCN paragraph: it matches when any criterion matches.
type Category struct {
	ECCN string `yaml:"eccn" json:"eccn"`
	// AppliesTo is "accelerator" (the default) or "memory". Memory paragraphs
	// (3A090.c, high-bandwidth memory) are kept as data and not applied to
	// accelerator specs.
	AppliesTo string      `yaml:"applies_to,omitempty" json:"applies_to,omitempty"`
	Any       []Criterion `yaml:"any" json:"any"`
	Note      string      `yaml:"note,omitempty" json:"note,omitempty"`
}

// Criterion is a conjunction of bounds; a nil bound is not checked. Minimums
// are inclusive (≥), "below" bounds exclusive (<), as in the EAR text.
type Criterion struct {
	TPPMin   *float64 `yaml:"tpp_min,omitempty" json:"tpp_min,omitempty"`
	TPPBelow *float64 `yaml:"tpp_below,omitempty" json:"tpp_below,omitempty"`
	PDMin    *float64 `yaml:"pd_min,omitempty" json:"pd_min,omitempty"`
	PDBelow  *float64 `yaml:"pd_below,omitempty" json:"pd_below,omitempty"`
	// BandwidthDensityMin is GB/s per mm² of package, for memory (3A090.c).
	BandwidthDensityMin *float64 `yaml:"bandwidth_density_min,omitempty" json:"bandwidth_density_min,omitempty"`
}

// RegionParams maps countries to the regions the program reasons about: the
// US, the CN group (China and Macau) and everything else.
type RegionParams struct {
	Groups []RegionGroup `yaml:"groups" json:"groups"`
	// Default is the region of a country in no group.
	Default string `yaml:"default" json:"default"`
}

// RegionGroup is a named set of countries.
type RegionGroup struct {
	Name      string   `yaml:"name" json:"name"`
	Countries []string `yaml:"countries" json:"countries"`
}

// CountryGroupParams is an EAR country group (Supplement No. 1 to part 740).
type CountryGroupParams struct {
	Name      string   `yaml:"name" json:"name"`
	Countries []string `yaml:"countries" json:"countries"`
}

// DestinationParams says what exporting a controlled item to some
// destinations needs. Uncontrolled items (the classification's otherwise)
// need no license anywhere.
type DestinationParams struct {
	// Exactly one of Countries, CountryGroup and Default selects where the
	// rule applies. An explicit country list beats a group, a group beats
	// the default.
	Countries    []string `yaml:"countries,omitempty" json:"countries,omitempty"`
	CountryGroup string   `yaml:"country_group,omitempty" json:"country_group,omitempty"`
	Default      bool     `yaml:"default,omitempty" json:"default,omitempty"`
	// Status applies to controlled items (when Review is set, only to those
	// that meet it).
	Status Status `yaml:"status" json:"status"`
	// Basis names the legal reading, "presumption of denial" or "case-by-case".
	Basis string `yaml:"basis,omitempty" json:"basis,omitempty"`
	// Review limits Status to items that meet every bound; the rest get
	// Otherwise.
	Review    *ReviewCriteria `yaml:"review,omitempty" json:"review,omitempty"`
	Otherwise Status          `yaml:"otherwise,omitempty" json:"otherwise,omitempty"`
}

// ReviewCriteria are the eligibility bounds for case-by-case review.
type ReviewCriteria struct {
	TPPBelow           float64 `yaml:"tpp_below" json:"tpp_below"`
	BandwidthBelowGBps int     `yaml:"bandwidth_below_gbps" json:"bandwidth_below_gbps"`
	// AvailableInUSBy requires the chip to have been commercially available
	// in the US on that day.
	AvailableInUSBy *Date `yaml:"available_in_us_by,omitempty" json:"available_in_us_by,omitempty"`
}

// ParentHQParams requires a license for controlled items when the buyer or
// its ultimate parent is headquartered in a country group, wherever the
// buyer operates (2026-05-31 guidance).
type ParentHQParams struct {
	CountryGroup string `yaml:"country_group" json:"country_group"`
	Status       Status `yaml:"status" json:"status"`
}

// ApprovedCustomerParams requires an approved buyer for controlled items to
// the listed regions.
type ApprovedCustomerParams struct {
	Regions []string `yaml:"regions" json:"regions"`
}

// EndUseParams lists end uses no order may declare.
type EndUseParams struct {
	Prohibited []string `yaml:"prohibited" json:"prohibited"`
}

// EndUserParams turns the buyer's screening status into an outcome and sets
// the affiliates threshold: an entity owned at least that much by listed
// parties is treated as listed.
type EndUserParams struct {
	OnMatch             Outcome `yaml:"on_match" json:"on_match"`
	OnPotentialMatch    Outcome `yaml:"on_potential_match" json:"on_potential_match"`
	OnPending           Outcome `yaml:"on_pending" json:"on_pending"`
	AffiliatesThreshold Percent `yaml:"affiliates_threshold" json:"affiliates_threshold"`
}

// VolumeCapParams caps cumulative shipments of a product to the regions at a
// share of cumulative shipments to US end users.
type VolumeCapParams struct {
	Regions    []string `yaml:"regions" json:"regions"`
	ShareOfUS  Percent  `yaml:"share_of_us" json:"share_of_us"`
	OnExceeded Outcome  `yaml:"on_exceeded" json:"on_exceeded"`
}

// LabTestParams requires every shipment of a controlled item to the regions
// to be tested by an independent lab in LabCountry before export.
type LabTestParams struct {
	Regions    []string `yaml:"regions" json:"regions"`
	LabCountry string   `yaml:"lab_country" json:"lab_country"`
	// WeeklyCapacityUnits is the lab's default throughput, for planning and
	// simulation; deployments override it with the real figure.
	WeeklyCapacityUnits int `yaml:"weekly_capacity_units" json:"weekly_capacity_units"`
}

// RouteParams fixes the route of controlled items to the regions: made in
// Origin, through Via in order, then to the destination.
type RouteParams struct {
	Regions []string `yaml:"regions" json:"regions"`
	Origin  string   `yaml:"origin" json:"origin"`
	Via     []string `yaml:"via" json:"via"`
}

// ReExportParams denies controlled items to the regions unless they leave
// from one of ShipFrom (a fresh export after the lab test): re-exports,
// exports from abroad and in-country transfers stay under presumption of
// denial.
type ReExportParams struct {
	Regions  []string `yaml:"regions" json:"regions"`
	ShipFrom []string `yaml:"ship_from" json:"ship_from"`
	Outcome  Outcome  `yaml:"outcome" json:"outcome"`
}

// ConsigneeKYCParams requires the consignee to run KYC that blocks
// unauthorized remote access, for controlled items to the regions.
type ConsigneeKYCParams struct {
	Regions   []string `yaml:"regions" json:"regions"`
	OnMissing Outcome  `yaml:"on_missing" json:"on_missing"`
}

// CheckParams is a rule written in CEL: when If is true for the order, the
// order gets Outcome with Message. If is type-checked at load.
type CheckParams struct {
	If      string  `yaml:"if" json:"if"`
	Outcome Outcome `yaml:"outcome" json:"outcome"`
	Message string  `yaml:"message" json:"message"`
}

// DutyParams is an ad valorem import duty on items inside any window.
type DutyParams struct {
	ImportingCountry string   `yaml:"importing_country" json:"importing_country"`
	Rate             Percent  `yaml:"rate" json:"rate"`
	Heading          string   `yaml:"heading,omitempty" json:"heading,omitempty"`
	HTS              []string `yaml:"hts,omitempty" json:"hts,omitempty"`
	Windows          []Window `yaml:"windows" json:"windows"`
	// ExemptEndUses are end uses on which no duty is collected.
	ExemptEndUses []string `yaml:"exempt_end_uses" json:"exempt_end_uses"`
}

// Window is a closed box of TPP and DRAM bandwidth (both ends inclusive).
type Window struct {
	TPPMin           float64 `yaml:"tpp_min" json:"tpp_min"`
	TPPMax           float64 `yaml:"tpp_max" json:"tpp_max"`
	BandwidthMinGBps int     `yaml:"bandwidth_min_gbps" json:"bandwidth_min_gbps"`
	BandwidthMaxGBps int     `yaml:"bandwidth_max_gbps" json:"bandwidth_max_gbps"`
	Note             string  `yaml:"note,omitempty" json:"note,omitempty"`
}

// ImportPermitParams is the importing side's regime for controlled items.
type ImportPermitParams struct {
	Regions []string `yaml:"regions" json:"regions"`
	ECCNs   []string `yaml:"eccns" json:"eccns"`
	// Admitting false means customs admits no such item at all (orders are
	// held); true means a permit is required.
	Admitting       bool     `yaml:"admitting" json:"admitting"`
	ExcludedSectors []string `yaml:"excluded_sectors,omitempty" json:"excluded_sectors,omitempty"`
	// DomesticRatioMin, when set, is the least share of domestic chips the
	// buyer must buy alongside.
	DomesticRatioMin *Percent `yaml:"domestic_ratio_min,omitempty" json:"domestic_ratio_min,omitempty"`
	// CloudOnly, when true, allows only deployments that serve the chips as
	// a cloud service.
	CloudOnly bool `yaml:"cloud_only" json:"cloud_only"`
}

// LotAgeParams is the minimum age of a lot (days since it became available)
// before it may be exported to the regions.
type LotAgeParams struct {
	Regions []string `yaml:"regions" json:"regions"`
	MinDays int      `yaml:"min_days" json:"min_days"`
}

// RedFlagParams are the diversion red flags vetting checks.
type RedFlagParams struct {
	Regions []string `yaml:"regions" json:"regions"`
	// PowerKWPerAccelerator: a site must show at least this much power per
	// ordered accelerator.
	PowerKWPerAccelerator float64 `yaml:"power_kw_per_accelerator" json:"power_kw_per_accelerator"`
	OnPowerShort          Outcome `yaml:"on_power_short" json:"on_power_short"`
	// CustomersRegisteredAfter flags customers new since this day.
	CustomersRegisteredAfter Date `yaml:"customers_registered_after" json:"customers_registered_after"`
	// TransshipmentHubs are countries diversion cases went through.
	TransshipmentHubs []string `yaml:"transshipment_hubs" json:"transshipment_hubs"`
}

// GeolocationParams are the physics of latency-based location checks.
type GeolocationParams struct {
	// FiberKMPerMSOneWay bounds distance: an RTT of r ms caps it at r/2 × this.
	FiberKMPerMSOneWay float64 `yaml:"fiber_km_per_ms_one_way" json:"fiber_km_per_ms_one_way"`
}

// AllocationParams are the defaults of the allocation engine.
type AllocationParams struct {
	// Tiers lists regions in the order they are served.
	Tiers []string `yaml:"tiers" json:"tiers"`
	// ReserveShare of each run is kept for ReserveClasses of buyers.
	ReserveShare   Percent  `yaml:"reserve_share" json:"reserve_share"`
	ReserveClasses []string `yaml:"reserve_classes" json:"reserve_classes"`
}
