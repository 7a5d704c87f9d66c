package policy

import (
	"slices"
	"strings"

	"github.com/chipgate/chipgate/internal/domain"
)

// Ownership rules treat an entity owned by listed parties as listed itself.
// There are two, each with its own dates: BIS's affiliates rule (kind
// affiliates; effective 2025-09-29, suspended 2025-11-10 to 2026-11-09, S22)
// reaches owners on the Entity List and the MEU List, and OFAC's 50 percent
// rule (kind blocked_ownership) reaches blocked persons on the SDN List.

// ListedOwner is a party on restricted-party lists that owns part of the
// buyer, directly or through others.
type ListedOwner struct {
	// Lists are the short codes of the lists the owner is on ("EL", "SDN").
	Lists []string `json:"lists"`
	// Share is the share of the buyer it owns (along a chain, the product
	// of the shares).
	Share domain.Rate `json:"share"`
}

// AffiliatesThreshold is the share of ownership by parties on the lists of
// BIS's affiliates rule (kind affiliates) at which an entity is treated as
// listed itself. ok is false when no affiliates rule is in force, and while
// the version in force is suspended (2025-11-10 to 2026-11-09 in the
// default policy). OFAC's 50 percent rule for SDN owners is separate and
// stays in force: ask OwnershipThreshold with the owner's list.
func (r Rules) AffiliatesThreshold() (domain.Rate, bool) {
	if e := r.rs().affiliates; e != nil && !e.doc.Affiliates.Suspended {
		return e.doc.Affiliates.Threshold.Rate(), true
	}
	return 0, false
}

// OwnershipThreshold is the lowest share of ownership by parties on list (a
// screening list's short code: "EL", "SDN") at which an entity is treated as
// listed under the ownership rules in force (affiliates, blocked_ownership),
// and the id of the rule that sets it. ok is false when no rule in force
// reaches that list, a suspended one included.
func (r Rules) OwnershipThreshold(list string) (threshold domain.Rate, rule string, ok bool) {
	for _, e := range r.ownershipRules() {
		p := e.ownership()
		if p == nil || p.Suspended || !slices.Contains(p.Lists, list) {
			continue
		}
		if th := p.Threshold.Rate(); !ok || th < threshold {
			threshold, rule, ok = th, e.ID, true
		}
	}
	return threshold, rule, ok
}

// ownershipRules are the ownership rules in force; either may be nil.
func (r Rules) ownershipRules() [2]*entry {
	s := r.rs()
	return [2]*entry{s.affiliates, s.blockedOwnership}
}

// ownership returns the parameters of an ownership rule, or nil.
func (e *entry) ownership() *OwnershipParams {
	if e == nil {
		return nil
	}
	if e.doc.Affiliates != nil {
		return e.doc.Affiliates
	}
	return e.doc.BlockedOwnership
}

// checkOwnership applies the ownership rules in force to the buyer's listed
// owners. Owners on a rule's lists count in aggregate (OFAC: "individually
// or in the aggregate"); ListedOwnership, whose lists are unknown, counts
// for every rule: the conservative reading. A suspended rule that would
// otherwise have reached the buyer says so, without holding the order.
func (r Rules) checkOwnership(x *decider, f *OrderFacts) {
	if f.ListedOwnership <= 0 && len(f.ListedOwners) == 0 {
		return
	}
	for _, e := range r.ownershipRules() {
		p := e.ownership()
		if p == nil {
			continue
		}
		th := p.Threshold.Rate()
		if f.ListedOwnership > 0 && f.ListedOwnership >= th {
			ownedBy(x, e, p, f.ListedOwnership, th, "listed parties")
		}
		var sum domain.Rate
		for _, o := range f.ListedOwners {
			if o.Share > 0 && slices.ContainsFunc(o.Lists, func(l string) bool { return slices.Contains(p.Lists, l) }) {
				sum = min(sum+o.Share, domain.RateScale)
			}
		}
		if sum > 0 && sum >= th {
			ownedBy(x, e, p, sum, th, "parties on "+strings.Join(p.Lists, ", "))
		}
	}
}

func ownedBy(x *decider, e *entry, p *OwnershipParams, share, th domain.Rate, whom string) {
	msg := "owned " + share.String() + " by " + whom + " ≥ " + th.String()
	if p.Suspended {
		until := "further notice"
		if e.Until != nil {
			until = e.Until.String()
		}
		x.add(Accepted, e, msg+", but the rule is suspended from "+e.From.String()+" until "+until, "")
		return
	}
	x.add(p.OnOwned, e, msg+": treated as listed", "")
}
