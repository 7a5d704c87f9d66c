package screening_test

import (
	"reflect"
	"testing"

	"github.com/chipgate/chipgate/internal/screening"
)

func TestNormalizerTokens(t *testing.T) {
	n := screening.NewNormalizer()
	tests := []struct {
		name   string
		in     string
		person bool
		want   []string
		legal  bool
	}{
		{"LegalFormDropped", "Huawei Technologies Co., Ltd.", false, []string{"huawei", "technologies"}, true},
		{"ChineseToEnglishAndPinyin", "华为技术有限公司", false, []string{"huawei", "technology"}, true},
		{"ChinesePlace", "北京华为", false, []string{"beijing", "huawei"}, false},
		{"PersonSurnameFirst", "HANIYA, Ismail Abdul Salah", true, []string{"ismail", "abdul", "salah", "haniya"}, false},
		{"Diacritics", "Société Générale S.A.", false, []string{"societe", "generale"}, true},
		{"GermanSharpS", "Straßenbau Müller GmbH", false, []string{"strassenbau", "muller"}, true},
		{"Cyrillic", "ООО Ромашка", false, []string{"romashka"}, true},
		{"ApostropheJoins", "O'Brien & Sons", false, []string{"obrien", "sons"}, false},
		{"InitialsMerge", "J.S.C. Almaz", false, []string{"almaz"}, true},
		{"HyphenSplits", "ANGLO-CARIBBEAN CO., LTD.", false, []string{"anglo", "caribbean"}, true},
		{"OnlyLegalFormsKept", "The Company Limited", false, []string{"the", "company", "limited"}, false},
		{"EdgeFormOnlyAtEdge", "SA Holdings AS Trading", false, []string{"holdings", "as", "trading"}, true},
		{"Stopwords", "Bank of Kunlun", false, []string{"bank", "kunlun"}, false},
		{"Empty", "  ,.; ", false, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, legal := n.Tokens(tt.in, tt.person)
			if !reflect.DeepEqual(got, tt.want) || legal != tt.legal {
				t.Errorf("Tokens(%q) = %q, %v; want %q, %v", tt.in, got, legal, tt.want, tt.legal)
			}
		})
	}
}

func TestNormalizerQueryTokens(t *testing.T) {
	n := screening.NewNormalizer()
	known := map[string]bool{"corporacion": true, "kala": true}
	unknown := func(s string) bool { return !known[s] }
	tests := []struct {
		in   string
		want []string
	}{
		{"KALA LIMTED", []string{"kala"}},                         // misspelled legal form, unknown word: dropped
		{"CORPORACION HANDAL", []string{"corporacion", "handal"}}, // listed word near "corporation": kept
		{"Smith, John", []string{"smith", "john"}},                // order kept: the scorer ignores it
		{"Smith, John, Jr.", []string{"smith", "john", "jr"}},     // several commas: order kept
	}
	for _, tt := range tests {
		if got, _ := n.QueryTokens(tt.in, unknown); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("QueryTokens(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCleanListName(t *testing.T) {
	tests := []struct {
		raw, name string
		aliases   []string
		remark    bool
	}{
		{"Huawei Technologies Co., Ltd. (Huawei).  Affiliated Entity:  Huawei Marine Networks Co., Ltd.", "Huawei Marine Networks Co., Ltd.", nil, true},
		{"Huawei Technologies Co., Ltd. (Huawei)", "Huawei Technologies Co., Ltd.", []string{"Huawei"}, false},
		{"Broad Engineering (Pakistan)", "Broad Engineering (Pakistan)", nil, false},
		{"Asia-Invest LLC and any successor, sub-unit, or subsidiary thereof", "Asia-Invest LLC", nil, false},
		{"Baotou Guanghua Chemical Industrial Corporation (Parent Organization: China National Nuclear Group Corporation (CNNC))", "Baotou Guanghua Chemical Industrial Corporation", nil, true},
		{"COMPAGNIE AERIENNE DES GRANDS LACS (CAGL) ; GREAT LAKES BUSINESS COMPANY (GLBC)", "COMPAGNIE AERIENNE DES GRANDS LACS", []string{"GREAT LAKES BUSINESS COMPANY (GLBC)", "CAGL"}, false},
		{"Gazprom Telekom OOO, f.k.a. Zakrytoe Aktsionernoe Obshchestvo Gaztelekom", "Gazprom Telekom OOO", []string{"Zakrytoe Aktsionernoe Obshchestvo Gaztelekom"}, false},
		{"  BANCO   NACIONAL DE CUBA ", "BANCO NACIONAL DE CUBA", nil, false},
	}
	for _, tt := range tests {
		name, aliases, remark := screening.CleanListName(tt.raw)
		if name != tt.name || !reflect.DeepEqual(aliases, tt.aliases) || (remark != "") != tt.remark {
			t.Errorf("cleanListName(%q) = %q, %q, %q; want %q, %q, remark %v", tt.raw, name, aliases, remark, tt.name, tt.aliases, tt.remark)
		}
	}
}

func TestCountryCode(t *testing.T) {
	tests := map[string]string{
		"CN": "CN", "cn": "CN", "China": "CN", "Korea, North": "KP", "Iran": "IR", "Burma": "MM",
		"Russian Federation": "RU", "United Kingdom": "GB", "Palestinian": "PS", "Atlantis": "", "": "", "ZZ": "",
	}
	for in, want := range tests {
		if got := screening.CountryCode(in); got != want {
			t.Errorf("CountryCode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestJaroWinkler(t *testing.T) {
	tests := []struct {
		a, b string
		want float64
	}{
		{"martha", "marhta", 0.9611},
		{"dwayne", "duane", 0.8400},
		{"dixon", "dicksonx", 0.8133},
		{"same", "same", 1},
		{"", "", 0},
		{"abc", "", 0},
		{"abc", "xyz", 0},
	}
	for _, tt := range tests {
		got := screening.JaroWinkler(tt.a, tt.b)
		if got < tt.want-0.0005 || got > tt.want+0.0005 {
			t.Errorf("JaroWinkler(%q, %q) = %.4f, want %.4f", tt.a, tt.b, got, tt.want)
		}
		if back := screening.JaroWinkler(tt.b, tt.a); back != got {
			t.Errorf("JaroWinkler not symmetric for %q, %q: %.4f vs %.4f", tt.a, tt.b, got, back)
		}
	}
}

func TestTokenSimilarity(t *testing.T) {
	tests := []struct {
		a, b  string
		match bool // at or above the alignment threshold 0.80
	}{
		{"huawei", "guawei", true},     // first letter wrong
		{"haniya", "haniyeh", true},    // transliteration
		{"fountain", "fonutaan", true}, // two edits
		{"gallardo", "galindo", false}, // different surnames sharing a prefix
		{"technology", "biology", false},
	}
	for _, tt := range tests {
		got := screening.FuzzySim(tt.a, tt.b)
		if (got >= 0.80) != tt.match {
			t.Errorf("fuzzySim(%q, %q) = %.3f, want match=%v", tt.a, tt.b, got, tt.match)
		}
	}
	if d := screening.OSADistance("abcd", "acbd"); d != 1 {
		t.Errorf("OSA distance of a transposition = %d, want 1", d)
	}
	if d := screening.OSADistance("kitten", "sitting"); d != 3 {
		t.Errorf("OSA distance kitten/sitting = %d, want 3", d)
	}
}
