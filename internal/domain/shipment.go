package domain

import (
	"encoding/json"
	"time"
)

// Shipment is units of one accepted order moving, by serial number, along
// the route the policy sets: Taiwan, the US lab, the buyer's licensed site.
type Shipment struct {
	ID       ID       `json:"id"`
	Number   string   `json:"number"`
	OrderID  ID       `json:"order_id"`
	BuyerID  ID       `json:"buyer_id"`
	Buyer    string   `json:"buyer"`
	Product  string   `json:"product"`
	Lot      string   `json:"lot"`
	Serials  []string `json:"serials"`
	Quantity int64    `json:"quantity"`
	// LicenseID and PermitID are the export license and the import permit
	// the units were drawn on: the order's when the shipment was made. The
	// units cross the border through these, whatever the order draws on
	// later (sent back to held by the volume cap and accepted again, it may
	// draw its other units on another grant). Unset on shipments made
	// before shipments named their grants: those go through the order's.
	LicenseID *ID `json:"license_id,omitempty"`
	PermitID  *ID `json:"permit_id,omitempty"`
	// Route lists the countries the shipment passes, origin first,
	// destination last; Leg is the index in Route of where it is or was
	// last.
	Route       []string `json:"route"`
	RouteRule   string   `json:"route_rule,omitempty"`
	Leg         int      `json:"leg"`
	Destination string   `json:"destination"`
	Site        int      `json:"site"`
	EndUse      string   `json:"end_use"`
	// UnitValue is the declared customs value of one unit; Value the
	// shipment's (UnitValue × Quantity).
	UnitValue Money `json:"unit_value"`
	Value     Money `json:"value"`
	// Invoice is the vendor's invoice to the buyer for the units.
	Invoice Invoice        `json:"invoice"`
	Status  ShipmentStatus `json:"status"`
	// LabRequired names the rule that requires a lab test before export.
	LabRequired string     `json:"lab_required,omitempty"`
	LabCountry  string     `json:"lab_country,omitempty"`
	LabArrival  *time.Time `json:"lab_arrival,omitempty"`
	// Carriers names the carrier of each leg (leg i goes from Route[i] to
	// Route[i+1]; a route of one country has one, for its delivery), Lab
	// the lab that tests the units where the route has a lab test, and
	// Holder the carrier with custody now: only these parties record the
	// shipment's custody events and its test. A hand-over to another
	// carrier is an event the holder records. Unset on shipments made
	// before shipments named their parties: any carrier and lab may act on
	// those, as before.
	Carriers []Assignee `json:"carriers,omitempty"`
	Lab      *Assignee  `json:"lab,omitempty"`
	Holder   *Assignee  `json:"holder,omitempty"`
	// ExportClearance is the export authority's clearance of the export
	// leg, which drew the license; set before the leg is picked up.
	ExportClearance *CustodyEvent  `json:"export_clearance,omitempty"`
	Test            *LabTest       `json:"test,omitempty"`
	Duty            *DutyEntry     `json:"duty,omitempty"`
	Events          []CustodyEvent `json:"events"`
	CreatedAt       time.Time      `json:"created_at"`
	UpdatedAt       time.Time      `json:"updated_at"`
}

// ShipmentStatus is where a shipment is in its journey.
type ShipmentStatus string

// Shipment states.
const (
	ShipAtOrigin  ShipmentStatus = "at_origin"  // made and packed, not yet picked up
	ShipInTransit ShipmentStatus = "in_transit" // on a leg
	ShipArrived   ShipmentStatus = "arrived"    // at a stop, not yet through customs
	ShipCleared   ShipmentStatus = "cleared"    // through customs at a stop
	ShipDelivered ShipmentStatus = "delivered"  // at the licensed site
)

// Assignee is a party a shipment names for part of its journey.
type Assignee struct {
	PartyID ID     `json:"party_id"`
	Party   string `json:"party"` // its slug
}

// CustodyEvent is one custody or border event: a carrier's (picked_up,
// arrived, handed_over, delivered; customs_cleared at a stop whose customs
// draw no permit), the import authority's (customs_cleared where the
// destination's permit is drawn) or the export authority's
// (export_cleared, which draws the license). By and Role say who recorded
// it; To names the carrier a hand-over gave custody to.
type CustodyEvent struct {
	At      time.Time `json:"at"`
	Kind    string    `json:"kind"`
	Country string    `json:"country"`
	Place   string    `json:"place"`
	By      string    `json:"by"`
	Role    Role      `json:"role,omitempty"`
	To      string    `json:"to,omitempty"`
}

// LabTest is the independent lab's result for a shipment.
type LabTest struct {
	At       time.Time `json:"at"`
	By       string    `json:"by"`
	Role     Role      `json:"role,omitempty"`
	Measured Spec      `json:"measured"`
	TPP      float64   `json:"tpp"`
	Pass     bool      `json:"pass"`
	Reasons  []string  `json:"reasons"`
	// DeviceKeys are the Ed25519 public keys (standard base64) of the
	// units' devices by serial, generated at the test: a device's identity
	// for attested check-ins, where its printed serial is not.
	DeviceKeys map[string]string `json:"device_keys,omitempty"`
}

// DutyEntry is the import duty assessed on a shipment when it cleared
// customs in the duty's importing country.
type DutyEntry struct {
	ShipmentID    ID        `json:"shipment_id"`
	Rule          string    `json:"rule"`
	Source        string    `json:"source,omitempty"`
	Country       string    `json:"country"`
	RatePPM       Rate      `json:"rate_ppm"`
	Rate          string    `json:"rate"`
	Exempt        bool      `json:"exempt"`
	DutiableValue Money     `json:"dutiable_value"`
	Amount        Money     `json:"amount"`
	AssessedAt    time.Time `json:"assessed_at"`
	Message       string    `json:"message"`
}

// CheckIn is a device's report from the field: its serial, the site it
// says it is at, and round-trip times to named landmarks.
type CheckIn struct {
	ID      ID                 `json:"id"`
	At      time.Time          `json:"at"`
	By      string             `json:"by"`
	Role    Role               `json:"role,omitempty"`
	Serial  string             `json:"serial"`
	Site    int                `json:"site"`
	Country string             `json:"country"`
	RTTs    map[string]float64 `json:"rtt_ms,omitempty"`
	// An attested check-in's device key, the round trips its landmarks
	// signed (each checked), and the evidence exactly as submitted, for an
	// auditor to verify offline (chipgate agent verify-evidence).
	DeviceKey string           `json:"device_key,omitempty"`
	Timings   []LandmarkTiming `json:"timings,omitempty"`
	Evidence  json.RawMessage  `json:"evidence,omitempty"`
}

// LandmarkTiming is one landmark's signed round trip in an attested
// check-in, after its signature was checked: Valid when the receipt is the
// landmark's (its key in the policy), for this nonce and device key.
type LandmarkTiming struct {
	Landmark string  `json:"landmark"`
	RTTMS    float64 `json:"rtt_ms"`
	Valid    bool    `json:"valid"`
	Problem  string  `json:"problem,omitempty"`
}

// Alert is a diversion signal for the export authority, with its evidence
// and who reported it: the party (and role) whose check-in or sweep raised
// it, and the check-in it rests on.
type Alert struct {
	ID           ID       `json:"id"`
	Kind         string   `json:"kind"`
	Serial       string   `json:"serial,omitempty"`
	ShipmentID   *ID      `json:"shipment_id,omitempty"`
	Buyer        string   `json:"buyer,omitempty"`
	ReportedBy   string   `json:"reported_by,omitempty"`
	ReporterRole Role     `json:"reporter_role,omitempty"`
	CheckInID    *ID      `json:"checkin_id,omitempty"`
	Evidence     []string `json:"evidence"`
	// Reasons are the watch's findings behind the alert: the rule and its
	// source, and the message with the values compared.
	Reasons   []Reason   `json:"reasons,omitempty"`
	State     AlertState `json:"state"`
	Notes     []Note     `json:"notes,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
}

// AlertState is where the export authority is with an alert.
type AlertState string

// Alert states.
const (
	AlertOpen      AlertState = "open"
	AlertExplained AlertState = "explained"
	AlertEscalated AlertState = "escalated"
)

// AlertMoves is the alert lifecycle.
var AlertMoves = map[AlertState][]AlertState{
	AlertOpen:      {AlertExplained, AlertEscalated},
	AlertEscalated: {AlertExplained},
}

// Invoice is the vendor's invoice for a shipment, in exact minor units.
type Invoice struct {
	Number   string        `json:"number"`
	IssuedAt time.Time     `json:"issued_at"`
	Lines    []InvoiceLine `json:"lines"`
	Total    Money         `json:"total"`
}

// InvoiceLine is Quantity units at UnitPrice; Amount is their exact product.
type InvoiceLine struct {
	Description string `json:"description"`
	Quantity    int64  `json:"quantity"`
	UnitPrice   Money  `json:"unit_price"`
	Amount      Money  `json:"amount"`
}
