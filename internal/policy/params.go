package policy

// The parameter blocks of the rule kinds. A rule in the file carries exactly
// one of them under the kind's key; the block's fields are the rule's
// parameters. They are exported so that `GET /api/v1/policy` can show a rule
// exactly as the engine reads it.

// ClassificationParams classifies an item by TPP and performance density
// (ECCN 3A090), and a system by the ICs it contains (4A090). An integrated
// circuit meeting an excluded criterion is outside every category; otherwise
// the categories that apply to it are tried in order and the first that
// matches wins.
type ClassificationParams struct {
	Categories []Category `yaml:"categories" json:"categories"`
	// Excluded lists what the ECCN's notes put outside it, e.g. the Note to
	// 3A090: ICs not designed or marketed for data centers with TPP below
	// 4,800, {data_center: false, tpp_below: 4800}.
	Excluded []Criterion `yaml:"excluded,omitempty" json:"excluded,omitempty"`
	// Otherwise names the classification of an item no category catches.
	Otherwise string `yaml:"otherwise" json:"otherwise"`
}

// Category is one ECCN paragraph. An accelerator or memory paragraph
// matches when any criterion matches; a system paragraph matches a system
// (domain.Spec.Accelerators > 0) whose ICs classify as Contains.
type Category struct {
	ECCN string `yaml:"eccn" json:"eccn"`
	// AppliesTo is "accelerator" (the default), "memory" or "system".
	// Memory paragraphs (3A090.c, high-bandwidth memory) are kept as data
	// and not applied to accelerator specs. System paragraphs (4A090.a:
	// computers, electronic assemblies and components containing 3A090.a
	// ICs) apply to systems only, and accelerator paragraphs to ICs only.
	AppliesTo string      `yaml:"applies_to,omitempty" json:"applies_to,omitempty"`
	Any       []Criterion `yaml:"any,omitempty" json:"any,omitempty"`
	// Contains is, for a system paragraph, the ECCN of the ICs that bring a
	// system under it ("3A090.a").
	Contains string `yaml:"contains,omitempty" json:"contains,omitempty"`
	Note     string `yaml:"note,omitempty" json:"note,omitempty"`
}

// Criterion is a conjunction of bounds; a nil bound is not checked. Minimums
// are inclusive (≥), "below" bounds exclusive (<), "above" bounds exclusive
// (>), as in the EAR text.
type Criterion struct {
	TPPMin   *float64 `yaml:"tpp_min,omitempty" json:"tpp_min,omitempty"`
	TPPBelow *float64 `yaml:"tpp_below,omitempty" json:"tpp_below,omitempty"`
	PDMin    *float64 `yaml:"pd_min,omitempty" json:"pd_min,omitempty"`
	PDBelow  *float64 `yaml:"pd_below,omitempty" json:"pd_below,omitempty"`
	// BandwidthDensityAbove is GB/s per mm² of package, for memory
	// (3A090.c: "greater than 2").
	BandwidthDensityAbove *float64 `yaml:"bandwidth_density_above,omitempty" json:"bandwidth_density_above,omitempty"`
	// DataCenter, when set, requires the IC to be (true) or not to be
	// (false) designed or marketed for data centers (domain.Spec.NotDataCenter).
	DataCenter *bool `yaml:"data_center,omitempty" json:"data_center,omitempty"`
	// Note says where the criterion comes from, e.g. "Note to 3A090".
	Note string `yaml:"note,omitempty" json:"note,omitempty"`
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
	// Exactly one of Countries, CountryGroups (CountryGroup for one) and
	// Default selects where the rule applies, within its jurisdiction. An
	// explicit country list beats the groups; among group rules that match
	// a country the most restrictive applies; the default comes last.
	Countries     []string `yaml:"countries,omitempty" json:"countries,omitempty"`
	CountryGroups []string `yaml:"country_groups,omitempty" json:"country_groups,omitempty"`
	CountryGroup  string   `yaml:"country_group,omitempty" json:"country_group,omitempty"`
	// ExceptGroups leaves out the countries also in these groups (D:1 and
	// D:4 except those in A:5 or A:6).
	ExceptGroups []string `yaml:"except_groups,omitempty" json:"except_groups,omitempty"`
	Default      bool     `yaml:"default,omitempty" json:"default,omitempty"`
	// ExportsFrom limits the rule to exports leaving from these countries
	// (a regime that controls exports from its own territory); empty means
	// any.
	ExportsFrom []string `yaml:"exports_from,omitempty" json:"exports_from,omitempty"`
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

// ParentHQParams raises the status of controlled items when the buyer or
// its ultimate parent is headquartered in one of the countries or groups,
// wherever the buyer operates (S15–S17), except at the destinations listed
// (where their own destination rule governs).
type ParentHQParams struct {
	CountryGroups []string `yaml:"country_groups,omitempty" json:"country_groups,omitempty"`
	CountryGroup  string   `yaml:"country_group,omitempty" json:"country_group,omitempty"`
	Countries     []string `yaml:"countries,omitempty" json:"countries,omitempty"`
	Status        Status   `yaml:"status" json:"status"`
	Basis         string   `yaml:"basis,omitempty" json:"basis,omitempty"`
	// ExceptDestinations are destinations where the rule does not apply.
	ExceptDestinations []string `yaml:"except_destinations,omitempty" json:"except_destinations,omitempty"`
}

// LetterParams is a license requirement by letter ("is informed", EAR
// 744.21/744.23): the products named need Status to the destinations named,
// whatever their classification.
type LetterParams struct {
	Products      []string `yaml:"products" json:"products"`
	Countries     []string `yaml:"countries,omitempty" json:"countries,omitempty"`
	CountryGroups []string `yaml:"country_groups,omitempty" json:"country_groups,omitempty"`
	Status        Status   `yaml:"status" json:"status"`
	Basis         string   `yaml:"basis,omitempty" json:"basis,omitempty"`
}

// ExceptionParams is a license exception (NAC, ACA): exports of the ECCNs
// to the destinations named go without a license, after a notification
// that the authority confirmed when Notification is set.
type ExceptionParams struct {
	Code string `yaml:"code" json:"code"`
	// AESCode is the license code the export declaration carries (C67).
	AESCode string   `yaml:"aes_code,omitempty" json:"aes_code,omitempty"`
	ECCNs   []string `yaml:"eccns" json:"eccns"`
	// ExcludeDataCenter lists ECCNs that the exception covers only when the
	// item is not designed or marketed for data centers.
	ExcludeDataCenter []string `yaml:"exclude_data_center,omitempty" json:"exclude_data_center,omitempty"`
	Countries         []string `yaml:"countries,omitempty" json:"countries,omitempty"`
	CountryGroups     []string `yaml:"country_groups,omitempty" json:"country_groups,omitempty"`
	ExceptGroups      []string `yaml:"except_groups,omitempty" json:"except_groups,omitempty"`
	Notification      bool     `yaml:"notification" json:"notification"`
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

// EndUserParams turns the buyer's screening status into an outcome. Who
// counts as listed through its owners is the business of the affiliates
// and blocked_ownership rules.
type EndUserParams struct {
	OnMatch          Outcome `yaml:"on_match" json:"on_match"`
	OnPotentialMatch Outcome `yaml:"on_potential_match" json:"on_potential_match"`
	OnPending        Outcome `yaml:"on_pending" json:"on_pending"`
}

// OwnershipParams is an ownership rule (kinds affiliates and
// blocked_ownership): an entity owned, directly or indirectly, individually
// or in aggregate, at least Threshold by parties on Lists is treated as
// listed itself. BIS's affiliates rule reaches the Entity List and the MEU
// List; OFAC's 50 percent rule reaches blocked persons (the SDN List).
type OwnershipParams struct {
	// Lists are restricted-party lists by the short codes the screening
	// index gives them: EL, MEU, SDN, ...
	Lists     []string `yaml:"lists" json:"lists"`
	Threshold Percent  `yaml:"threshold" json:"threshold"`
	// OnOwned is the outcome of an order by an entity so owned.
	OnOwned Outcome `yaml:"on_owned" json:"on_owned"`
	// Suspended marks a version in which the rule is published but
	// suspended: it reaches nobody, and Rules.AffiliatesThreshold says so.
	Suspended bool `yaml:"suspended,omitempty" json:"suspended,omitempty"`
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

// Window is an open box of TPP and DRAM bandwidth: a chip is inside when
// TPPAbove < TPP < TPPBelow and BandwidthAboveGBps < bandwidth <
// BandwidthBelowGBps, every bound exclusive, as CBP wrote it ("greater than
// 14,000 and less than 17,500", S18).
type Window struct {
	TPPAbove           float64 `yaml:"tpp_above" json:"tpp_above"`
	TPPBelow           float64 `yaml:"tpp_below" json:"tpp_below"`
	BandwidthAboveGBps int     `yaml:"bandwidth_above_gbps" json:"bandwidth_above_gbps"`
	BandwidthBelowGBps int     `yaml:"bandwidth_below_gbps" json:"bandwidth_below_gbps"`
	Note               string  `yaml:"note,omitempty" json:"note,omitempty"`
}

// ImportPermitParams is the importing side's regime for controlled items.
type ImportPermitParams struct {
	Regions []string `yaml:"regions" json:"regions"`
	// Countries, when set, limits the regime to these countries of the
	// regions (a separate customs territory of a region stays outside).
	Countries []string `yaml:"countries,omitempty" json:"countries,omitempty"`
	ECCNs     []string `yaml:"eccns" json:"eccns"`
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

// covers reports whether the regime applies to an import into country (of
// region).
func (p *ImportPermitParams) covers(country, region string) bool {
	return regionIn(p.Regions, region) && (len(p.Countries) == 0 || regionIn(p.Countries, country))
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
	// ResidentialWords in an address suggest a home rather than a data
	// center; ForwarderWords in a name a freight forwarder rather than an
	// end user. Each entry is a word or a phrase of words.
	ResidentialWords []string `yaml:"residential_words" json:"residential_words"`
	ForwarderWords   []string `yaml:"forwarder_words" json:"forwarder_words"`
	// PlausibleUses lists, per business type (buyer class), the end uses
	// that fit it; a class not listed is not checked.
	PlausibleUses map[string][]string `yaml:"plausible_uses" json:"plausible_uses"`
}

// GeolocationParams are the physics of latency-based location checks.
type GeolocationParams struct {
	// FiberKMPerMSOneWay bounds distance: an RTT of r ms caps it at r/2 × this.
	FiberKMPerMSOneWay float64 `yaml:"fiber_km_per_ms_one_way" json:"fiber_km_per_ms_one_way"`
}

// ScreeningParams are the restricted-party screening thresholds, set with
// the evaluation in docs/SCREENING.md, and the list-integrity limits.
type ScreeningParams struct {
	// MinScore is the score from which a name similarity is a hit (a
	// potential match for an officer to review).
	MinScore float64 `yaml:"min_score" json:"min_score"`
	// MatchScore is the score from which an unreviewed hit counts as a
	// match that blocks, and from which clearing a hit takes a second
	// officer (four eyes).
	MatchScore float64 `yaml:"match_score" json:"match_score"`
	// MaxListShrink is the largest share of a list's entities a new version
	// may lose before a reload is refused (0.2 = 20%).
	MaxListShrink float64 `yaml:"max_list_shrink" json:"max_list_shrink"`
	// FourEyesScore is the score from which clearing a hit (false_positive)
	// takes a second, different officer: the first officer's clear leaves
	// the hit pending_second. 0 means match_score.
	FourEyesScore float64 `yaml:"four_eyes_score" json:"four_eyes_score"`
	// Reasons are the reasons an officer may give for a decision on a hit;
	// a decision names one (and adds a free-text note).
	Reasons []ScreeningReason `yaml:"reasons" json:"reasons"`
}

// ScreeningReason is one reason an officer may give for a decision on a
// screening hit, like the reason codes of SAP GTS or Oracle GTM.
type ScreeningReason struct {
	Code string `yaml:"code" json:"code"`
	// Decisions are those the reason can justify: false_positive,
	// confirmed, escalated.
	Decisions []string `yaml:"decisions" json:"decisions"`
	Summary   string   `yaml:"summary" json:"summary"`
}

// HitDecisions are the decisions an officer can make on a screening hit.
var HitDecisions = []string{"false_positive", "confirmed", "escalated"}

// Reason returns the reason with the code, if the parameters have it.
func (p ScreeningParams) Reason(code string) (ScreeningReason, bool) {
	for _, r := range p.Reasons {
		if r.Code == code {
			return r, true
		}
	}
	return ScreeningReason{}, false
}

// FourEyes is the score from which clearing a hit takes two officers.
func (p ScreeningParams) FourEyes() float64 {
	if p.FourEyesScore > 0 {
		return p.FourEyesScore
	}
	return p.MatchScore
}

// AllocationParams are the defaults of the allocation engine.
type AllocationParams struct {
	// Tiers lists regions in the order they are served.
	Tiers []string `yaml:"tiers" json:"tiers"`
	// ReserveShare of each run is kept for ReserveClasses of buyers.
	ReserveShare   Percent  `yaml:"reserve_share" json:"reserve_share"`
	ReserveClasses []string `yaml:"reserve_classes" json:"reserve_classes"`
}
