package service

import (
	"reflect"
	"testing"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/policy"
)

// TestListedOwners: an order hands the decision every owner screening
// found on a list — inherited or not, since the ownership rules in force at
// the order's instant decide — one entry per owner path with the lists of
// its hits; a false positive, a weak unreviewed hit and the applicant's own
// names are left out.
func TestListedOwners(t *testing.T) {
	s := &Service{matchOverride: DefaultMatchScore}
	hits := []domain.ScreeningHit{
		{Via: "legal_name", List: "EL", Score: 1},                                     // the applicant itself
		{Via: "owners[0]", List: "EL", Score: 1, Share: 60},                           // not inherited while suspended
		{Via: "owners[0]", List: "SDN", Score: 0.97, Share: 60, Inherited: true},      // the same owner, another list
		{Via: "owners[1]", List: "SDN", Score: 0.9, Share: 30},                        // too weak, unreviewed
		{Via: "owners[2]", List: "SDN", Score: 0.9, Share: 25, Review: "confirmed"},   // weak but confirmed
		{Via: "owners[3]", List: "EL", Score: 1, Share: 80, Review: "false_positive"}, // not this owner
	}
	want := []policy.ListedOwner{
		{Lists: []string{"EL", "SDN"}, Share: 600_000},
		{Lists: []string{"SDN"}, Share: 250_000},
	}
	if got := s.listedOwners(hits); !reflect.DeepEqual(got, want) {
		t.Fatalf("listedOwners = %+v, want %+v", got, want)
	}
	if got := s.listedOwners(nil); got != nil {
		t.Fatalf("no hits: %+v", got)
	}
}
