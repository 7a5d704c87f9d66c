package screening_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/screening"
	"github.com/chipgate/chipgate/internal/screening/fallback"
)

var fallbackIndex = sync.OnceValues(func() (*screening.Index, error) {
	ds, err := fallback.Load()
	if err != nil {
		return nil, err
	}
	return screening.NewIndex(ds.Entities), nil
})

// TestSearchAddress: a site at a listed party's premises hits that party,
// however the address is written; a city, another country or an address
// on no list does not.
func TestSearchAddress(t *testing.T) {
	ix, err := fallbackIndex()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		q        screening.AddressQuery
		wantIn   string // the first hit's name contains this; "" for no hits
		minScore float64
	}{
		{"AsListed", screening.AddressQuery{Address: "Bantian Huawei Base, Longgang District, Shenzhen, 518129"}, "HUAWEI TECHNOLOGIES", 0.99},
		{"OtherOrderAndCase", screening.AddressQuery{Address: "518129 shenzhen longgang district, bantian huawei base", Country: "CN"}, "HUAWEI TECHNOLOGIES", 0.99},
		{"Disguised", screening.AddressQuery{Address: "Bantian Hua\u200bwei Base, Longgang District, Shenzhen, 518129"}, "HUAWEI TECHNOLOGIES", 0.99},
		{"OtherCountry", screening.AddressQuery{Address: "Bantian Huawei Base, Longgang District, Shenzhen, 518129", Country: "US"}, "", 0},
		{"CityAlone", screening.AddressQuery{Address: "Moscow", MinScore: 0.3}, "", 0},
		{"DistrictOnly", screening.AddressQuery{Address: "Longgang District, Shenzhen"}, "", 0},
		{"Clean", screening.AddressQuery{Address: "88 Keyuan Road, Nanshan District, Shenzhen"}, "", 0},
		{"CleanUS", screening.AddressQuery{Address: "2788 San Tomas Expressway, Santa Clara, CA 95051", Country: "US"}, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hits, err := ix.SearchAddress(tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantIn == "" {
				if len(hits) > 0 {
					t.Fatalf("hits %q (%s, %.3f), want none", hits[0].Entity.Name, hits[0].Matched, hits[0].Score)
				}
				return
			}
			if len(hits) == 0 || !strings.Contains(hits[0].Entity.Name, tt.wantIn) || hits[0].Score < tt.minScore {
				t.Fatalf("hits %+v, want %q first at ≥ %.2f", hits, tt.wantIn, tt.minScore)
			}
			if hits[0].Matched == "" || len(hits[0].Shared) == 0 {
				t.Errorf("hit names no listed address or shared words: %+v", hits[0])
			}
		})
	}
	for _, q := range []screening.AddressQuery{{Address: ""}, {Address: " ,;- "}, {Address: strings.Repeat("a", screening.MaxQueryBytes+1)},
		{Address: "x\xff"}, {Address: "Bantian", Limit: -1}, {Address: "Bantian", MinScore: 2}} {
		if _, err := ix.SearchAddress(q); domain.ErrorCode(err) != domain.EINVALID {
			t.Errorf("SearchAddress(%+v) = %v, want EINVALID", q, err)
		}
	}
}
