package screening_test

import (
	"reflect"
	"testing"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/screening"
)

func TestInheritedListings(t *testing.T) {
	listed := map[string]bool{"L1": true, "L2": true}
	tests := []struct {
		name      string
		stakes    []screening.Stake
		threshold float64
		want      map[string][]string // party → chain
	}{
		{"Direct50", []screening.Stake{{"L1", "A", 0.5}}, 0.5, map[string][]string{"A": {"L1", "A"}}},
		{"Direct49", []screening.Stake{{"L1", "A", 0.49}}, 0.5, map[string][]string{}},
		{"Aggregate", []screening.Stake{{"L1", "A", 0.3}, {"L2", "A", 0.2}}, 0.5, map[string][]string{"A": {"L1", "A"}}},
		{"Chain", []screening.Stake{{"L1", "A", 0.6}, {"A", "B", 0.5}, {"B", "C", 0.7}}, 0.5,
			map[string][]string{"A": {"L1", "A"}, "B": {"L1", "A", "B"}, "C": {"L1", "A", "B", "C"}}},
		{"ChainBroken", []screening.Stake{{"L1", "A", 0.6}, {"A", "B", 0.4}, {"B", "C", 0.9}}, 0.5, map[string][]string{"A": {"L1", "A"}}},
		{"AggregateThroughAffected", []screening.Stake{{"L1", "A", 0.5}, {"A", "B", 0.25}, {"L2", "B", 0.25}}, 0.5,
			map[string][]string{"A": {"L1", "A"}, "B": {"L1", "A", "B"}}},
		{"Cycle", []screening.Stake{{"A", "B", 0.5}, {"B", "A", 0.5}}, 0.5, map[string][]string{}},
		{"CycleWithListed", []screening.Stake{{"L1", "A", 0.5}, {"A", "B", 0.5}, {"B", "A", 0.5}}, 0.5,
			map[string][]string{"A": {"L1", "A"}, "B": {"L1", "A", "B"}}},
		{"PolicyThreshold25", []screening.Stake{{"L1", "A", 0.3}}, 0.25, map[string][]string{"A": {"L1", "A"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := screening.InheritedListings(listed, tt.stakes, tt.threshold)
			if err != nil {
				t.Fatal(err)
			}
			chains := map[string][]string{}
			for p, inh := range got {
				chains[p] = inh.Chain
				if inh.Share+1e-9 < tt.threshold || len(inh.Owners) == 0 {
					t.Errorf("%s: share %.2f owners %v", p, inh.Share, inh.Owners)
				}
			}
			if !reflect.DeepEqual(chains, tt.want) {
				t.Errorf("chains = %v, want %v", chains, tt.want)
			}
		})
	}
}

func TestInheritedListingsErrInvalid(t *testing.T) {
	tests := []struct {
		name      string
		stakes    []screening.Stake
		threshold float64
	}{
		{"ShareAboveOne", []screening.Stake{{"L1", "A", 1.5}}, 0.5},
		{"NegativeShare", []screening.Stake{{"L1", "A", -0.1}}, 0.5},
		{"OverSubscribed", []screening.Stake{{"L1", "A", 0.6}, {"X", "A", 0.6}}, 0.5},
		{"NoOwner", []screening.Stake{{"", "A", 0.6}}, 0.5},
		{"ZeroThreshold", nil, 0},
		{"ThresholdAboveOne", nil, 1.1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := screening.InheritedListings(map[string]bool{"L1": true}, tt.stakes, tt.threshold)
			if domain.ErrorCode(err) != domain.EINVALID {
				t.Errorf("err = %v, want %s", err, domain.EINVALID)
			}
		})
	}
}
