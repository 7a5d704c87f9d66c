package service

import (
	"testing"

	"github.com/chipgate/chipgate/internal/domain"
)

func TestScreeningStatus(t *testing.T) {
	hit := func(score float64, review string, inherited bool) domain.ScreeningHit {
		return domain.ScreeningHit{Score: score, Review: review, Inherited: inherited}
	}
	for _, c := range []struct {
		hits []domain.ScreeningHit
		want string
	}{
		{nil, "clear"},
		{[]domain.ScreeningHit{hit(0.9, "", false)}, "potential_match"},
		{[]domain.ScreeningHit{hit(0.96, "", false)}, "match"},
		{[]domain.ScreeningHit{hit(0.99, "false_positive", false)}, "clear"},
		{[]domain.ScreeningHit{hit(0.88, "confirmed", false)}, "match"},
		{[]domain.ScreeningHit{hit(0.9, "", true)}, "match"},
		{[]domain.ScreeningHit{hit(0.99, "false_positive", false), hit(0.9, "", false)}, "potential_match"},
		{[]domain.ScreeningHit{{Score: 0.99, Share: 20}}, "potential_match"}, // a listed minority owner
		{[]domain.ScreeningHit{{Score: 0.99, Share: 60, Inherited: true}}, "match"},
	} {
		if got := screeningStatus(c.hits, DefaultMatchScore); got != c.want {
			t.Errorf("screeningStatus(%+v) = %s, want %s", c.hits, got, c.want)
		}
	}
}
