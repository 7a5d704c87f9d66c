package service

import (
	"strings"

	"github.com/chipgate/chipgate/internal/domain"
)

// Action names something an actor may do. Every service method checks one.
type Action string

// The actions of the program.
const (
	ActPartyRead   Action = "party.read"
	ActPartyCreate Action = "party.create"
	// ActUserManage adds users to one's own party, lists them and sets
	// their duties (an administrator's).
	ActUserManage  Action = "user.manage"
	ActTokenManage Action = "token.manage" // issue, list and revoke one's own tokens
	// ActIdentityManage configures one's own party's identity provider
	// and maps its subjects and groups to the party's users.
	ActIdentityManage Action = "identity.manage"
	ActProductRead    Action = "product.read"
	ActProductCreate  Action = "product.create"
	ActLotRead        Action = "lot.read"
	ActLotCreate      Action = "lot.create"

	ActApplicationSubmit Action = "application.submit"
	ActApplicationRead   Action = "application.read"
	ActApplicationDecide Action = "application.decide" // approve, deny, ask, suspend, revoke, review hits
	ActLicenseRead       Action = "license.read"
	ActLicenseManage     Action = "license.manage" // suspend, reinstate, revoke
	ActPermitRead        Action = "permit.read"
	ActPermitManage      Action = "permit.manage" // grant, deny, revoke
	ActHearingRead       Action = "hearing.read"
	ActHearingManage     Action = "hearing.manage" // open, close
	ActHearingFile       Action = "hearing.file"
	ActOrderPlace        Action = "order.place"
	ActOrderRead         Action = "order.read"
	ActOrderReview       Action = "order.review" // release or reject a held order
	ActOrderCancel       Action = "order.cancel"
	ActLedgerRead        Action = "ledger.read"    // checkpoints, proofs, leaf hashes, the key
	ActLedgerEntries     Action = "ledger.entries" // records with their payloads
	ActLedgerPublic      Action = "ledger.public"  // the public part of any record: kind, time, actor role, objects
	ActScreen            Action = "screen"
	ActAllocationRun     Action = "allocation.run"
	ActAllocationRead    Action = "allocation.read"
	ActOutlookRead       Action = "outlook.read"
	ActShipmentCreate    Action = "shipment.create"
	ActShipmentRead      Action = "shipment.read"
	ActShipmentEvent     Action = "shipment.event"
	ActShipmentTest      Action = "shipment.test"
	ActDutyRead          Action = "duty.read"
	ActCheckIn           Action = "checkin"
	ActAlertManage       Action = "alert.manage"
	ActListsReload       Action = "lists.reload"
	// ActNoticeConfirm records (and withdraws) an authority's confirmation
	// of a license exception's notification for a consignee (NAC).
	ActNoticeConfirm Action = "notice.confirm"
	// ActScreeningLogRead reads the log of every screening: the export
	// authority, which oversees screening, and the auditor.
	ActScreeningLogRead Action = "screening_log.read"
	// ActMetricsRead reads the platform-wide operational metrics: the
	// export authority, which oversees the whole program (and the
	// operator).
	ActMetricsRead Action = "metrics.read"
	// ActWebhookManage subscribes one's own party to events, and lists,
	// replays and deletes its subscriptions. What each event carries is
	// authorized again, as the subscriber, by the read of its subject.
	ActWebhookManage Action = "webhook.manage"
)

// scope says over whose records a role may take an action.
type scope int

const (
	none scope = iota
	own        // only records of the actor's own party
	all        // every party's records
)

// grants is the authorization matrix: for each action, each role's scope.
// A role that is absent has no access. The system actor (operator commands
// run on the server itself) may do everything.
var grants = map[Action]map[domain.Role]scope{
	ActPartyRead: {
		domain.RoleVendor: all, domain.RoleExportAuthority: all, domain.RoleImportAuthority: all,
		domain.RoleBuyer: own, domain.RoleLab: own, domain.RoleCarrier: own, domain.RoleAuditor: own,
	},
	ActPartyCreate: {},
	ActUserManage: {
		domain.RoleVendor: own, domain.RoleExportAuthority: own, domain.RoleImportAuthority: own,
		domain.RoleBuyer: own, domain.RoleLab: own, domain.RoleCarrier: own, domain.RoleAuditor: own,
	},
	ActIdentityManage: {
		domain.RoleVendor: own, domain.RoleExportAuthority: own, domain.RoleImportAuthority: own,
		domain.RoleBuyer: own, domain.RoleLab: own, domain.RoleCarrier: own, domain.RoleAuditor: own,
	},
	ActTokenManage: {
		domain.RoleVendor: own, domain.RoleExportAuthority: own, domain.RoleImportAuthority: own,
		domain.RoleBuyer: own, domain.RoleLab: own, domain.RoleCarrier: own, domain.RoleAuditor: own,
	},
	ActProductRead: {
		domain.RoleVendor: all, domain.RoleExportAuthority: all, domain.RoleImportAuthority: all,
		domain.RoleBuyer: all, domain.RoleLab: all, domain.RoleCarrier: all, domain.RoleAuditor: all,
	},
	ActProductCreate: {domain.RoleVendor: all},
	ActLotRead:       {domain.RoleVendor: all, domain.RoleExportAuthority: all, domain.RoleImportAuthority: all},
	ActLotCreate:     {domain.RoleVendor: all},

	ActApplicationSubmit: {domain.RoleBuyer: own},
	ActApplicationRead: {
		domain.RoleExportAuthority: all, domain.RoleImportAuthority: all, domain.RoleVendor: all, domain.RoleBuyer: own,
	},
	ActApplicationDecide: {domain.RoleExportAuthority: all},
	// The vendor sees the licenses issued for its exports; a buyer its own.
	ActLicenseRead: {
		domain.RoleExportAuthority: all, domain.RoleImportAuthority: all, domain.RoleVendor: all, domain.RoleBuyer: own,
	},
	ActLicenseManage: {domain.RoleExportAuthority: all},
	// Each authority confirms the notifications of its own jurisdiction's
	// exceptions (the service checks the jurisdiction).
	ActNoticeConfirm: {domain.RoleExportAuthority: all, domain.RoleImportAuthority: all},
	ActPermitRead: {
		domain.RoleImportAuthority: all, domain.RoleExportAuthority: all, domain.RoleVendor: all, domain.RoleBuyer: own,
	},
	ActPermitManage:  {domain.RoleImportAuthority: all},
	ActHearingRead:   {domain.RoleImportAuthority: all, domain.RoleBuyer: own},
	ActHearingManage: {domain.RoleImportAuthority: all},
	ActHearingFile:   {domain.RoleBuyer: own},
	ActOrderPlace:    {domain.RoleBuyer: own},
	ActOrderRead: {
		domain.RoleExportAuthority: all, domain.RoleImportAuthority: all, domain.RoleVendor: all, domain.RoleBuyer: own,
	},
	// Each authority releases only its own jurisdiction's holds (ReviewOrder).
	ActOrderReview: {domain.RoleExportAuthority: all, domain.RoleImportAuthority: all},
	ActOrderCancel: {domain.RoleBuyer: own},
	ActLedgerRead: {
		domain.RoleVendor: all, domain.RoleExportAuthority: all, domain.RoleImportAuthority: all,
		domain.RoleBuyer: all, domain.RoleLab: all, domain.RoleCarrier: all, domain.RoleAuditor: all,
	},
	ActScreen:           {domain.RoleVendor: all, domain.RoleExportAuthority: all, domain.RoleImportAuthority: all},
	ActListsReload:      {domain.RoleExportAuthority: all},
	ActScreeningLogRead: {domain.RoleExportAuthority: all, domain.RoleAuditor: all},
	ActMetricsRead:      {domain.RoleExportAuthority: all},
	ActAllocationRun:    {domain.RoleVendor: all},
	ActShipmentCreate:   {domain.RoleVendor: all},
	ActShipmentRead: {
		domain.RoleVendor: all, domain.RoleExportAuthority: all, domain.RoleImportAuthority: all,
		domain.RoleLab: own, domain.RoleCarrier: own, domain.RoleBuyer: own,
	},
	// Carriers and labs act on the shipments that name them, each
	// authority on the border crossings into or out of its country
	// (service/custody.go).
	ActShipmentEvent: {domain.RoleCarrier: own, domain.RoleImportAuthority: own, domain.RoleExportAuthority: own},
	ActShipmentTest:  {domain.RoleLab: own},
	ActDutyRead:      {domain.RoleVendor: all, domain.RoleExportAuthority: all},
	ActCheckIn:       {domain.RoleBuyer: own, domain.RoleVendor: all},
	ActAlertManage:   {domain.RoleExportAuthority: all},
	ActWebhookManage: {
		domain.RoleVendor: own, domain.RoleExportAuthority: own, domain.RoleImportAuthority: own,
		domain.RoleBuyer: own, domain.RoleLab: own, domain.RoleCarrier: own, domain.RoleAuditor: own,
	},
	ActAllocationRead: {domain.RoleVendor: all, domain.RoleExportAuthority: all, domain.RoleImportAuthority: all},
	ActOutlookRead: {
		domain.RoleVendor: all, domain.RoleExportAuthority: all, domain.RoleImportAuthority: all, domain.RoleBuyer: own,
	},
	// Auditors see the public part of every entry (and hashes and proofs),
	// never payloads.
	ActLedgerPublic: {domain.RoleAuditor: all, domain.RoleExportAuthority: all, domain.RoleImportAuthority: all},
	// Auditors see hashes and proofs, never payloads.
	ActLedgerEntries: {
		domain.RoleExportAuthority: all, domain.RoleVendor: own, domain.RoleImportAuthority: own,
		domain.RoleBuyer: own, domain.RoleLab: own, domain.RoleCarrier: own,
	},
}

// isSystem reports whether who is the operator acting on the server itself.
func isSystem(who domain.Actor) bool { return who.Role == domain.SystemActor.Role }

// authorize returns nil when who may take action at all (on some records),
// and EFORBIDDEN otherwise.
func authorize(who domain.Actor, action Action) error {
	if isSystem(who) || grants[action][who.Role] != none {
		return nil
	}
	return domain.Errorf(domain.EFORBIDDEN, "role %s may not %s", who.Role, action)
}

// authorizeFor returns nil when who may take action on a record owned by the
// party owner. A role that may act only on its own records gets ENOTFOUND
// for another party's record, so that it learns nothing about it.
func authorizeFor(who domain.Actor, action Action, owner domain.ID, what string) error {
	if err := authorize(who, action); err != nil {
		return err
	}
	if isSystem(who) || grants[action][who.Role] == all || owner == who.PartyID {
		return nil
	}
	return domain.Errorf(domain.ENOTFOUND, "%s not found", what)
}

// AuthorizeMetrics returns nil when who may read the platform-wide metrics
// (GET /metrics), EFORBIDDEN otherwise.
func AuthorizeMetrics(who domain.Actor) error { return authorize(who, ActMetricsRead) }

// The duties that allow a kind of work: an actor must hold one of them
// (domain.UserDuty). Reads need no duty; the role's grants bound them.
var (
	// routineWork is a party's everyday work: an authority's reviews,
	// information requests and first clears, a buyer's applications and
	// orders, the vendor's lots and shipments, carriers' and labs' records.
	routineWork = []domain.UserDuty{domain.DutyOfficer, domain.DutyApprover}
	// decisiveWork is an authority's decisive acts: approving or denying
	// an application, issuing, suspending, reinstating or revoking a
	// license, permit or customer, the second clear of a four-eyes hit.
	decisiveWork = []domain.UserDuty{domain.DutyApprover}
	// administration manages the party's users and duties, API tokens,
	// identity provider and mappings, and webhook subscriptions.
	administration = []domain.UserDuty{domain.DutyAdministrator}
)

// requireDuty returns nil when who holds one of need (the operator always
// does) and EFORBIDDEN naming the duties otherwise. Callers check it after
// authorize, so that a role that may not act at all hears that first.
func requireDuty(who domain.Actor, need []domain.UserDuty, what string) error {
	if isSystem(who) || who.Duties.Has(need...) {
		return nil
	}
	names := make([]string, len(need))
	for i, d := range need {
		names[i] = string(d)
	}
	return domain.Errorf(domain.EFORBIDDEN, "%s needs the duty of %s; user %s has %s", what, strings.Join(names, " or "), who.UserName, dutyList(who.Duties))
}

// dutyList names a set of duties for a message.
func dutyList(ds domain.Duties) string {
	if len(ds) == 0 {
		return "none"
	}
	names := make([]string, len(ds))
	for i, d := range ds {
		names[i] = string(d)
	}
	return strings.Join(names, ", ")
}

// authorizeWork is authorize followed by requireDuty: the role may take
// the action and the user holds one of need.
func authorizeWork(who domain.Actor, action Action, need []domain.UserDuty) error {
	if err := authorize(who, action); err != nil {
		return err
	}
	return requireDuty(who, need, string(action))
}
