package screening_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/chipgate/chipgate/internal/screening"
)

// evasionVariants are 30 ways of writing "Huawei Technologies Co., Ltd."
// that a screen shows as that name, or that a reader takes for it (issue
// 17: 7 of 30 such variants screened clear). want lists the evasion kinds
// Evasions must report.
var evasionVariants = []struct {
	name, query string
	want        []string
}{
	{"Plain", "Huawei Technologies Co., Ltd.", nil},
	{"ZeroWidthSpace", "Hua\u200bwei Tech\u200bnologies Co., Ltd.", []string{screening.EvasionInvisible}},
	{"ZeroWidthNonJoiner", "Hua\u200cwei Technologies", []string{screening.EvasionInvisible}},
	{"ZeroWidthJoiner", "Huaw\u200dei Technolo\u200dgies", []string{screening.EvasionInvisible}},
	{"WordJoiner", "Hua\u2060wei Techno\u2060logies", []string{screening.EvasionInvisible}},
	{"ByteOrderMark", "\ufeffHua\ufeffwei Technologies", []string{screening.EvasionInvisible}},
	{"SoftHyphen", "Hua\u00adwei Tech\u00adnologies Co., Ltd.", []string{screening.EvasionInvisible}},
	{"VariationSelector", "Huawei\ufe0f Techno\ufe0flogies", []string{screening.EvasionInvisible}},
	{"TagCharacters", "Huawei\U000E0041 Technologies", []string{screening.EvasionInvisible}},
	{"Split", "Hua wei Tech nologies", nil},
	{"Joined", "HuaweiTechnologies", nil},
	{"JoinedByZeroWidthSpace", "Huawei\u200bTechnologies", []string{screening.EvasionInvisible}},
	{"GreekCapitalEta", "\u0397uawei Technologies Co., Ltd.", []string{screening.EvasionHomoglyph}},
	{"GreekOmicron", "Huawei Techn\u03bfl\u03bfgies", []string{screening.EvasionHomoglyph}},
	{"CyrillicVowels", "Hu\u0430w\u0435i T\u0435chn\u043el\u043egi\u0435s", []string{screening.EvasionHomoglyph}},
	{"CyrillicEsForC", "Huawei Te\u0441hnologies", []string{screening.EvasionHomoglyph}},
	{"CyrillicCapitals", "HUAWEI \u0422\u0415\u0421\u041dNOLOGIES", []string{screening.EvasionHomoglyph}},
	{"CherokeeH", "\u13bbuawei Technologies", []string{screening.EvasionHomoglyph}},
	{"SmallCapitals", "\u029c\u1d1c\u1d00\u1d21\u1d07\u026a Technologies", []string{screening.EvasionHomoglyph}},
	{"Fullwidth", "\uff28\uff55\uff41\uff57\uff45\uff49\u3000\uff34\uff45\uff43\uff48\uff4e\uff4f\uff4c\uff4f\uff47\uff49\uff45\uff53", nil},
	{"MathematicalBold", "\U0001d407\U0001d42e\U0001d41a\U0001d430\U0001d41e\U0001d422 Technologies", nil},
	{"Diacritics", "H\u00fcaw\u00e9i T\u00e9chnologies", nil},
	{"RightToLeftOverrideReversed", "\u202eseigolonhceT iewauH\u202c", []string{screening.EvasionBidi}},
	{"RightToLeftOverrideWrapper", "\u202eHuawei Technologies\u202c", []string{screening.EvasionBidi}},
	{"LeftToRightOverride", "\u202dHuawei Technologies Co., Ltd.\u202c", []string{screening.EvasionBidi}},
	{"Isolates", "\u2067Huawei\u2069 \u2068Technologies\u2069", []string{screening.EvasionBidi}},
	{"Marks", "Hua\u200ewei Tech\u200fnologies\u061c", []string{screening.EvasionBidi}},
	{"TraditionalChinese", "華為技術有限公司", nil},
	{"SimplifiedChinese", "华为技术有限公司", nil},
	{"Combined", "\u202e\u0397ua\u200bwei Tech nologies\u202c", []string{screening.EvasionInvisible, screening.EvasionBidi, screening.EvasionHomoglyph}},
}

// TestEvasionVariantsHit: every variant finds Huawei Technologies first,
// at or above the default threshold, and reports what it hides.
func TestEvasionVariantsHit(t *testing.T) {
	_, ix := mustLoad(t)
	if len(evasionVariants) < 30 {
		t.Fatalf("%d variants, want 30", len(evasionVariants))
	}
	for _, v := range evasionVariants {
		t.Run(v.name, func(t *testing.T) {
			hits, err := ix.Search(screening.Query{Name: v.query})
			if err != nil {
				t.Fatal(err)
			}
			if len(hits) == 0 {
				t.Fatalf("%q screens clear", v.query)
			}
			if name := strings.ToUpper(hits[0].Entity.Name + " " + hits[0].Matched); !strings.Contains(name, "HUAWEI TECHNOLOG") {
				t.Errorf("%q: first hit %q (%q) %.3f, want Huawei Technologies", v.query, hits[0].Entity.Name, hits[0].Matched, hits[0].Score)
			}
			if got := screening.Evasions(v.query); !reflect.DeepEqual(got, v.want) {
				t.Errorf("Evasions(%q) = %q, want %q", v.query, got, v.want)
			}
		})
	}
}

// TestEvasionsHonestNames: real names in other scripts are not evasion.
func TestEvasionsHonestNames(t *testing.T) {
	for _, name := range []string{
		"ООО Ромашка", "РОСТЕХ", "Ελληνική Εταιρεία", "华为技术有限公司", "Société Générale", "O'Brien & Sons",
		"Ｈｕａｗｅｉ", "ΑΒΓ Holdings", // a Greek word in a Latin name is Greek, not a disguise: Γ imitates no Latin letter
	} {
		if got := screening.Evasions(name); got != nil {
			t.Errorf("Evasions(%q) = %q, want none", name, got)
		}
	}
}

func TestReadings(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"Huawei", []string{"Huawei"}},
		{"Hua\u200bwei", []string{"Huawei"}},
		{"\u202eiewauH\u202c", []string{"iewauH", "Huawei"}},
		{"Acme \u202eiewauH\u202c Ltd", []string{"Acme iewauH Ltd", "Acme Huawei Ltd"}},
		{"\u202eHuawei", []string{"Huawei", "iewauH"}},
	}
	for _, tt := range tests {
		if got := screening.Readings(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Readings(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNormalizerEvasionFolds(t *testing.T) {
	n := screening.NewNormalizer()
	tests := []struct{ in, want string }{
		{"Hua\u200bwei", "huawei"},
		{"\u0397uawei", "huawei"},
		{"\uff28\uff55\uff41\uff57\uff45\uff49", "huawei"},
		{"華為", "huawei"},
		{"ООО Ромашка", "romashka"}, // a Russian name stays Russian, romanized
		{"Te\u0441hnologies", "technologies"},
	}
	for _, tt := range tests {
		got, _ := n.Tokens(tt.in, false)
		if strings.Join(got, " ") != tt.want {
			t.Errorf("Tokens(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
