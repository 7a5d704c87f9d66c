package screening

import (
	"fmt"
	"sort"

	"github.com/chipgate/chipgate/internal/domain"
)

// Stake is one ownership edge: Owner holds Share (0 to 1) of Owned. Parties
// are named by the caller's ids.
type Stake struct {
	Owner string  `json:"owner"`
	Owned string  `json:"owned"`
	Share float64 `json:"share"`
}

// Inheritance explains why a party inherits a listing: the listed or
// already-affected owners whose stakes add up to Share, and one chain of
// parties from a listed party down to it.
type Inheritance struct {
	Party  string   `json:"party"`
	Share  float64  `json:"share"`  // aggregate stake held by listed or affected owners
	Owners []string `json:"owners"` // those owners, largest stake first
	Chain  []string `json:"chain"`  // a listed party, …, Party
}

// InheritedListings applies the ownership rule (OFAC's 50 percent rule and
// the BIS affiliates rule): a party owned, individually or in the aggregate,
// directly or indirectly, threshold or more by listed parties is treated as
// listed itself, and its own stakes then count like a listed party's. listed
// holds the parties with a hit; threshold comes from policy (0.5 today) and
// must be in (0, 1]. Cycles are fine: the rule is applied until nothing
// changes. Returns EINVALID for a share outside [0, 1], stakes in one party
// that add up to more than 1, or a bad threshold.
func InheritedListings(listed map[string]bool, stakes []Stake, threshold float64) (map[string]Inheritance, error) {
	if !(threshold > 0 && threshold <= 1) {
		return nil, domain.Invalid("threshold", "must be above 0 and at most 1, got %v", threshold)
	}
	owners := map[string][]Stake{}
	total := map[string]float64{}
	for i, s := range stakes {
		if !(s.Share >= 0 && s.Share <= 1) {
			return nil, domain.Invalid(fmt.Sprintf("stakes[%d].share", i), "must be between 0 and 1, got %v", s.Share)
		}
		if s.Owner == "" || s.Owned == "" {
			return nil, domain.Invalid(fmt.Sprintf("stakes[%d]", i), "owner and owned party are required")
		}
		owners[s.Owned] = append(owners[s.Owned], s)
		total[s.Owned] += s.Share
		if total[s.Owned] > 1+1e-9 {
			return nil, domain.Invalid(fmt.Sprintf("stakes[%d].share", i), "stakes in %s add up to %.4g, more than 100%%", s.Owned, total[s.Owned])
		}
	}
	out := map[string]Inheritance{}
	affected := func(p string) bool {
		if listed[p] {
			return true
		}
		_, ok := out[p]
		return ok
	}
	parties := make([]string, 0, len(owners))
	for p := range owners {
		parties = append(parties, p)
	}
	sort.Strings(parties) // deterministic chains
	for changed := true; changed; {
		changed = false
		for _, p := range parties {
			if affected(p) {
				continue
			}
			var share float64
			var by []Stake
			for _, s := range owners[p] {
				if affected(s.Owner) {
					share += s.Share
					by = append(by, s)
				}
			}
			if share+1e-9 < threshold {
				continue
			}
			sort.SliceStable(by, func(a, b int) bool { return by[a].Share > by[b].Share })
			inh := Inheritance{Party: p, Share: share}
			for _, s := range by {
				inh.Owners = append(inh.Owners, s.Owner)
			}
			top := by[0].Owner
			if listed[top] {
				inh.Chain = []string{top, p}
			} else {
				inh.Chain = append(append([]string(nil), out[top].Chain...), p)
			}
			out[p] = inh
			changed = true
		}
	}
	return out, nil
}
