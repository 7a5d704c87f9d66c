package domain_test

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/chipgate/chipgate/internal/domain"
)

func TestErrorCode(t *testing.T) {
	wrapped := fmt.Errorf("store: %w", domain.Errorf(domain.ENOTFOUND, "party %q not found", "x"))
	if got := domain.ErrorCode(wrapped); got != domain.ENOTFOUND {
		t.Fatalf("ErrorCode = %q, want not_found", got)
	}
	if got := domain.ErrorCode(errors.New("boom")); got != domain.EINTERNAL {
		t.Fatalf("ErrorCode(plain) = %q, want internal", got)
	}
	if got := domain.ErrorMessage(errors.New("secret dsn")); got != "internal error" {
		t.Fatalf("ErrorMessage(plain) = %q leaks", got)
	}
	if domain.ErrorCode(nil) != "" {
		t.Fatal("ErrorCode(nil) != \"\"")
	}
}

func TestPartyValidate(t *testing.T) {
	ok := domain.Party{Slug: "bytedance", Name: "ByteDance Ltd.", Role: domain.RoleBuyer, Country: "CN", Class: domain.ClassPlatform}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid party: %v", err)
	}
	cases := []struct {
		name  string
		edit  func(p *domain.Party)
		field string
	}{
		{"ErrSlug", func(p *domain.Party) { p.Slug = "Byte Dance" }, "slug"},
		{"ErrName", func(p *domain.Party) { p.Name = " " }, "name"},
		{"ErrRole", func(p *domain.Party) { p.Role = "king" }, "role"},
		{"ErrCountry", func(p *domain.Party) { p.Country = "China" }, "country"},
		{"ErrClass", func(p *domain.Party) { p.Class = "giant" }, "class"},
		{"ErrClassNotBuyer", func(p *domain.Party) { p.Role = domain.RoleLab }, "class"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := ok
			c.edit(&p)
			err := p.Validate()
			if domain.ErrorCode(err) != domain.EINVALID {
				t.Fatalf("err = %v, want invalid", err)
			}
			if f := domain.ErrorFields(err); len(f) != 1 || f[0].Path != c.field {
				t.Fatalf("fields = %+v, want one on %q", f, c.field)
			}
		})
	}
}

func TestParseRate(t *testing.T) {
	for _, c := range []struct {
		in   string
		want domain.Rate
	}{{"25%", 250000}, {"0.25", 250000}, {"12.5%", 125000}, {"0", 0}, {"100%", 1000000}, {"0.000001", 1}} {
		got, err := domain.ParseRate(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseRate(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "abc", "-1%", "101%", "1e-1", "0.0000001", "1/4"} {
		if _, err := domain.ParseRate(bad); err == nil {
			t.Errorf("ParseRate(%q) accepted", bad)
		}
	}
}

func TestMoneyTimes(t *testing.T) {
	unit := domain.Money{Minor: 3_200_000, Currency: "USD"} // USD 32,000.00 a chip
	if got, err := unit.Times(21_000); err != nil || got != (domain.Money{Minor: 67_200_000_000, Currency: "USD"}) {
		t.Errorf("32,000.00 × 21,000 = %v, %v", got, err)
	}
	if got, err := unit.Times(0); err != nil || got.Minor != 0 || got.Currency != "USD" {
		t.Errorf("× 0 = %v, %v", got, err)
	}
	if got, err := (domain.Money{Minor: -7, Currency: "EUR"}).Times(3); err != nil || got.Minor != -21 {
		t.Errorf("-7 × 3 = %v, %v", got, err)
	}
	for _, c := range []struct{ minor, n int64 }{{math.MaxInt64, 2}, {1 << 32, 1 << 31}, {math.MinInt64, -1}} {
		if _, err := (domain.Money{Minor: c.minor, Currency: "USD"}).Times(c.n); domain.ErrorCode(err) != domain.EINVALID {
			t.Errorf("%d × %d: err = %v, want an overflow", c.minor, c.n, err)
		}
	}
	if got, err := (domain.Money{Minor: math.MaxInt64, Currency: "USD"}).Times(1); err != nil || got.Minor != math.MaxInt64 {
		t.Errorf("max × 1 = %v, %v", got, err)
	}
}

func TestMoneyApplyRoundsHalfAwayFromZero(t *testing.T) {
	r25, _ := domain.ParseRate("25%")
	r12_5, _ := domain.ParseRate("12.5%")
	for _, c := range []struct {
		minor int64
		rate  domain.Rate
		want  int64
	}{
		{100, r25, 25},
		{2, r25, 1},                    // 0.5 cent rounds up
		{1, r25, 0},                    // 0.25 cent rounds down
		{3, r25, 1},                    // 0.75 rounds up
		{-2, r25, -1},                  // away from zero
		{4, r12_5, 1},                  // 0.5 → 1
		{12, r12_5, 2},                 // 1.5 → 2
		{300_000_000, r25, 75_000_000}, // USD 3,000,000.00 → USD 750,000.00
	} {
		got, err := domain.Money{Minor: c.minor, Currency: "USD"}.Apply(c.rate)
		if err != nil || got.Minor != c.want || got.Currency != "USD" {
			t.Errorf("%d × %s = %v, %v; want %d", c.minor, c.rate, got, err, c.want)
		}
	}
	if _, err := (domain.Money{Minor: math.MaxInt64, Currency: "USD"}).Apply(domain.RateScale); err != nil {
		t.Errorf("100%% of max: %v", err)
	}
	if _, err := (domain.Money{Minor: math.MaxInt64, Currency: "USD"}).Add(domain.Money{Minor: 1, Currency: "USD"}); domain.ErrorCode(err) != domain.EINVALID {
		t.Errorf("overflowing Add: err = %v", err)
	}
	if _, err := (domain.Money{Minor: 1, Currency: "USD"}).Add(domain.Money{Minor: 1, Currency: "EUR"}); err == nil {
		t.Error("Add across currencies accepted")
	}
	if s := (domain.Money{Minor: -1234, Currency: "USD"}).String(); s != "USD -12.34" {
		t.Errorf("String = %q", s)
	}
	// Each currency with its own minor unit (ISO 4217).
	for m, want := range map[domain.Money]string{
		{Minor: 4_500_000, Currency: "JPY"}: "JPY 4500000", {Minor: 1235, Currency: "KWD"}: "KWD 1.235",
		{Minor: -5, Currency: "BHD"}: "BHD -0.005", {Minor: 7, Currency: "CNY"}: "CNY 0.07", {Minor: 12345, Currency: "CLF"}: "CLF 1.2345",
		{Minor: math.MinInt64, Currency: "JPY"}: "JPY -9223372036854775808",
	} {
		if got := m.String(); got != want {
			t.Errorf("%+v.String() = %q, want %q", m, got, want)
		}
	}
}

func TestCanonicalJSON(t *testing.T) {
	a, err := domain.CanonicalJSON(struct {
		B int    `json:"b"`
		A string `json:"a"`
	}{2, "<x>"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := domain.CanonicalJSON(map[string]any{"a": "<x>", "b": 2})
	if string(a) != `{"a":"<x>","b":2}` || string(a) != string(b) {
		t.Fatalf("canonical = %s and %s", a, b)
	}
}
