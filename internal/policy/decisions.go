package policy

// DecisionSpec describes one decision the engine makes: what a workflow
// calls, what it looks at, and the kinds of rules that have a say. It is
// the index docs/POLICY.md and `chipgate policy show` print.
type DecisionSpec struct {
	Name     string   `json:"name"`
	Function string   `json:"function"`
	Inputs   string   `json:"inputs"`
	Kinds    []string `json:"kinds"`
}

// Decisions lists every decision of the engine.
var Decisions = []DecisionSpec{
	{"vet an application", "Rules.RedFlagsOf", "the application: registration day, addresses, sites and their power, requested volumes, names, business type and end uses, ultimate parent",
		[]string{KindRedFlags, KindParentHQ}},
	{"place an order", "Rules.DecideOrder", "the chip, quantity, destination site, the buyer (class, sector, headquarters, parent), approval, screening, listed owners, end use, site power and cloud, KYC, lot age, accepted volumes, the buyer's licenses and permits per jurisdiction, license-exception notifications",
		[]string{KindClassification, KindDestination, KindParentHQ, KindLetter, KindException, KindEndUse, KindEndUser, KindAffiliates, KindBlockedOwnership,
			KindApprovedCustomer, KindVolumeCap, KindImportPermit, KindLotAge, KindRedFlags, KindReExport, KindConsigneeKYC, KindCheck, KindLabTest, KindRoute, KindDuty}},
	{"release a held order", "Rules.DecideOrder with OrderFacts.Released", "the order's facts as they are now and every authority's release so far; a release lifts only the releasable holds of its own jurisdiction",
		[]string{KindDestination, KindImportPermit, KindVolumeCap, KindRedFlags, KindCheck}},
	{"cancel an order", "Rules.VolumeCapRule, ShareOf", "the accepted volumes after the cancellation; the newest capped acceptances that no longer fit go back to held",
		[]string{KindVolumeCap}},
	{"export at the border", "Rules.DecideExport", "the chip, destination and route, units, the license (or license exception) the order drew on, units exported so far to the region and to US end users, the lab test",
		[]string{KindDestination, KindParentHQ, KindLetter, KindVolumeCap, KindLabTest}},
	{"import at customs", "Rules.DecideImport", "the chip, destination, units, the import permit the order drew on",
		[]string{KindImportPermit}},
	{"assess the duty", "Rules.DutyFor", "the chip's TPP and bandwidth, the declared end use", []string{KindDuty}},
	{"assess a device check-in", "Rules.AssessCheckIn", "the serial's shipment (status, where, licensed site and destination), the site and country claimed, round-trip times to landmarks and the site's coordinates, the serial's last check-in",
		[]string{KindWatch, KindGeolocation}},
	{"assess an attested check-in", "Rules.AssessAttestedCheckIn", "the serial's shipment and licensed site's coordinates, the device key the lab recorded, the challenge (issued for which serial, when, used before), the evidence's verified signatures and the round-trip times the landmarks signed, the key's last attested check-in",
		[]string{KindAttestation, KindWatch, KindGeolocation}},
	{"sweep for silent devices", "Rules.AssessSilence", "a delivered serial's delivery or last check-in, and now", []string{KindWatch}},
}

// InForce returns the ids of the rules in force of the decision's kinds,
// in file order.
func (r Rules) InForce(d DecisionSpec) []string {
	var out []string
	for _, v := range r.Rules {
		for _, k := range d.Kinds {
			if v.Kind == k {
				out = append(out, v.ID)
				break
			}
		}
	}
	return out
}
