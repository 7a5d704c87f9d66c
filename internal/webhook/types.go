package webhook

import (
	"encoding/json"
	"slices"
	"strings"
)

// An event type names what happened, in the subscriber's terms.
const (
	ApplicationSubmitted     = "application.submitted"
	ApplicationDecided       = "application.decided"
	ApplicationInfoRequested = "application.information_requested"
	ScreeningHitRaised       = "screening.hit_raised"
	ScreeningHitCleared      = "screening.hit_cleared"
	ScreeningHitConfirmed    = "screening.hit_confirmed"
	// ScreeningHitReviewed is a decision that leaves the hits open: a
	// first officer's clear awaiting a second (four eyes), an escalation.
	ScreeningHitReviewed = "screening.hit_reviewed"
	OrderDecided         = "order.decided"
	OrderHeld            = "order.held"
	OrderReleased        = "order.released"
	OrderCancelled       = "order.cancelled"
	OrderFulfilled       = "order.fulfilled"
	LicenseIssued        = "license.issued"
	LicenseSuspended     = "license.suspended"
	LicenseReinstated    = "license.reinstated"
	LicenseRevoked       = "license.revoked"
	PermitIssued         = "permit.issued"
	PermitDenied         = "permit.denied"
	PermitRevoked        = "permit.revoked"
	HearingOpened        = "hearing.opened"
	HearingFiled         = "hearing.filed"
	HearingClosed        = "hearing.closed"
	AlertRaised          = "alert.raised"
	AlertChanged         = "alert.changed"
	ListVersionLoaded    = "list.version_loaded"
	ListVersionRefused   = "list.version_refused"
	CheckpointPublished  = "checkpoint.published"
	// ShipmentPrefix starts every shipment event: "shipment.created",
	// "shipment.tested" and "shipment.<custody event kind>"
	// ("shipment.picked_up", "shipment.export_cleared", …).
	ShipmentPrefix = "shipment."
)

// Mapping is one row of the table from ledger actions to event types.
type Mapping struct {
	// Action is the ledger record's action; one ending in ".*" matches
	// every action with that prefix.
	Action string
	// Type is the event type, or a rule that picks it (see TypeOf).
	Type string
	// Subject is the subject type of the records (the GET the event's
	// data is read through).
	Subject string
}

// Mappings is the one table from ledger actions to event types. A record
// whose action is not here announces nothing: token.*, session.*, user.*,
// party.* (party.rescreened included: a carrier never hears of its own
// screening), product.*, lot.*, checkin.received, allocation.run,
// state.adopted and screening_log.sealed never leave the server as events. docs/EVENTS.md repeats
// it.
var Mappings = []Mapping{
	{"application.submitted", ApplicationSubmitted, "application"},
	{"application.resubmitted", ApplicationSubmitted, "application"},
	{"application.approved", ApplicationDecided, "application"},
	{"application.denied", ApplicationDecided, "application"},
	{"application.suspended", ApplicationDecided, "application"},
	{"application.revoked", ApplicationDecided, "application"},
	{"application.info_requested", ApplicationInfoRequested, "application"},
	// raised when a hit awaits review, cleared when none does
	{"application.rescreened", ScreeningHitRaised + "|" + ScreeningHitCleared, "application"},
	// confirmed when a hit is confirmed, reviewed while hits stay open
	// (a clear awaiting its second officer, an escalation), cleared otherwise
	{"application.hits_reviewed", ScreeningHitConfirmed + "|" + ScreeningHitReviewed + "|" + ScreeningHitCleared, "application"},
	{"order.accepted", OrderDecided + "|" + OrderReleased, "order"}, // released when an authority accepted it
	{"order.rejected", OrderDecided, "order"},
	{"order.held_for_review", OrderHeld, "order"},
	{"order.cancelled", OrderCancelled, "order"},
	{"order.fulfilled", OrderFulfilled, "order"},
	{"license.issued", LicenseIssued, "license"},
	{"license.suspended", LicenseSuspended, "license"},
	{"license.active", LicenseReinstated, "license"},
	{"license.revoked", LicenseRevoked, "license"},
	{"permit.active", PermitIssued, "permit"},
	{"permit.denied", PermitDenied, "permit"},
	{"permit.revoked", PermitRevoked, "permit"},
	{"hearing.opened", HearingOpened, "hearing"},
	{"hearing.filed", HearingFiled, "hearing"},
	{"hearing.closed", HearingClosed, "hearing"},
	{"shipment.*", ShipmentPrefix + "*", "shipment"},
	{"alert.raised", AlertRaised, "alert"},
	{"alert.*", AlertChanged, "alert"},
	{"lists.accepted", ListVersionLoaded, "list_version"},
	{"lists.forced", ListVersionLoaded, "list_version"},
	{"lists.refused", ListVersionRefused, "list_version"},
}

// Record is what TypeOf needs of a ledger record.
type Record struct {
	Action    string
	ActorRole string
	Payload   []byte
}

// TypeOf returns the event type a record announces and the subject type
// its data is read through; ok is false for a record that announces
// nothing. It is pure: the type depends on the record alone.
func TypeOf(r Record) (typ, subject string, ok bool) {
	m, ok := mappingOf(r.Action)
	if !ok {
		return "", "", false
	}
	switch m.Action {
	case "shipment.*":
		return r.Action, m.Subject, true
	case "application.rescreened":
		var sc struct {
			Hits []struct {
				Review string `json:"review"`
			} `json:"hits"`
		}
		_ = json.Unmarshal(r.Payload, &sc) // a payload that does not parse has no hit awaiting review
		if slices.ContainsFunc(sc.Hits, func(h struct {
			Review string `json:"review"`
		}) bool {
			return h.Review == ""
		}) {
			return ScreeningHitRaised, m.Subject, true
		}
		return ScreeningHitCleared, m.Subject, true
	case "application.hits_reviewed":
		var a struct {
			Screening struct {
				Status string `json:"status"`
				Hits   []struct {
					Review string `json:"review"`
				} `json:"hits"`
			} `json:"screening"`
		}
		_ = json.Unmarshal(r.Payload, &a)
		switch {
		case slices.ContainsFunc(a.Screening.Hits, func(h struct {
			Review string `json:"review"`
		}) bool {
			return h.Review == "confirmed"
		}):
			return ScreeningHitConfirmed, m.Subject, true
		case a.Screening.Status == "match":
			return ScreeningHitReviewed, m.Subject, true
		}
		return ScreeningHitCleared, m.Subject, true
	case "order.accepted":
		if r.ActorRole == "export_authority" || r.ActorRole == "import_authority" {
			return OrderReleased, m.Subject, true
		}
		return OrderDecided, m.Subject, true
	}
	return m.Type, m.Subject, true
}

func mappingOf(action string) (Mapping, bool) {
	for _, m := range Mappings {
		if m.Action == action {
			return m, true
		}
	}
	for _, m := range Mappings {
		if p, ok := strings.CutSuffix(m.Action, "*"); ok && strings.HasPrefix(action, p) {
			return m, true
		}
	}
	return Mapping{}, false
}

// Known reports whether a subscription may ask for typ: an event type of
// the table, "shipment.*" for every shipment event, or "*" for all.
func Known(typ string) bool {
	if typ == "*" || typ == CheckpointPublished || typ == ShipmentPrefix+"*" {
		return true
	}
	if strings.HasPrefix(typ, ShipmentPrefix) && len(typ) > len(ShipmentPrefix) {
		return true
	}
	for _, m := range Mappings {
		for _, t := range strings.Split(m.Type, "|") {
			if t == typ {
				return true
			}
		}
	}
	return false
}

// Wants reports whether a subscription to types (none means all) takes
// an event of type typ.
func Wants(types []string, typ string) bool {
	if len(types) == 0 {
		return true
	}
	for _, t := range types {
		if t == "*" || t == typ || (t == ShipmentPrefix+"*" && strings.HasPrefix(typ, ShipmentPrefix)) {
			return true
		}
	}
	return false
}
