package screening

import "strings"

// legalFormData lists legal-form words and phrases, one per line, as
// normalized tokens. They are data, not logic: adding a jurisdiction's forms
// is a one-line change. Lines starting with "edge:" are removed only as the
// first or last words of a name, because as words inside a name they are
// ordinary ("SA" in a person's name, "AS" or "AB" as initials).
var legalFormData = []string{
	// English
	"company limited", "co ltd", "co limited", "company ltd", "limited", "ltd",
	"corporation", "corp", "incorporated", "inc", "company", "llc", "l l c",
	"limited liability company", "limited liability partnership", "llp",
	"public limited company", "plc", "private limited", "pvt ltd", "pvt", "pte ltd", "pte",
	"holdings limited", "lp", "edge:co", "edge:private",
	// German, Dutch, Nordic
	"gmbh", "gesellschaft mit beschrankter haftung", "edge:ag", "aktiengesellschaft", "edge:kg",
	"gmbh co kg", "edge:bv", "edge:nv", "edge:ab", "edge:oy", "edge:as", "edge:asa", "edge:aps",
	// Romance
	"edge:sa", "sas", "sarl", "sl", "srl", "spa", "edge:sac", "sa de cv", "s de rl", "de cv",
	"s de rl de cv", "sapi de cv", "ltda", "limitada", "sociedad anonima", "societe anonyme",
	// the same forms spelled out, so "S.A. DE C.V." and "SOCIEDAD ANONIMA DE
	// CAPITAL VARIABLE" both leave nothing behind ("de" is a stop word)
	"sociedad anonima de capital variable", "capital variable", "sociedad de responsabilidad limitada",
	"sociedad anonima promotora de inversion", "compania anonima", "edge:ca", "sociedad civil",
	"cia", "compania", "compagnie", "edge:cie",
	// Russian and CIS (romanized)
	"ooo", "oao", "zao", "pao", "edge:ao", "ojsc", "cjsc", "pjsc", "jsc", "ojsc", "tov", "edge:tsk",
	"joint stock company", "open joint stock company", "closed joint stock company",
	"public joint stock company", "obshchestvo s ogranichennoy otvetstvennostyu",
	"obshchestvo s ogranichennoi otvetstvennostyu", "obshchestvo s ogranichennoy otvetstvennostiu",
	"aktsionernoe obshchestvo", "otkrytoe aktsionernoe obshchestvo",
	"zakrytoe aktsionernoe obshchestvo", "publichnoe aktsionernoe obshchestvo",
	// Middle East, Asia
	"fze", "fzco", "fzc", "fz llc", "dmcc", "edge:wll", "sdn bhd", "bhd", "berhad", "sendirian berhad",
	"edge:pt", "tbk", "kabushiki kaisha", "kk", "yugen kaisha", "jusik hoesa",
	"edge:hk", "sharikat", "sherkat", "sherkate",
	// Chinese business language, as the normalizer renders 有限公司 and friends
	"limited company", "company limited by shares", "joint stock limited company",
	"youxian gongsi", "youxiangongsi", "gufen youxian gongsi", "gongsi",
}

// legalForms matches legal-form phrases on token slices.
type legalForms struct {
	anywhere [][]string // longest first
	edge     [][]string
	// byFirst indexes both lists by first word, so that exact matching
	// looks only at phrases that can start at a token.
	byFirst map[string][]legalPhrase
}

type legalPhrase struct {
	words []string
	edge  bool
}

func newLegalForms(lines []string) legalForms {
	var lf legalForms
	for _, l := range lines {
		if rest, ok := strings.CutPrefix(l, "edge:"); ok {
			lf.edge = append(lf.edge, strings.Fields(rest))
			continue
		}
		lf.anywhere = append(lf.anywhere, strings.Fields(l))
	}
	byLen := func(p [][]string) {
		// Insertion sort, longest phrase first: so "co ltd" wins over "co".
		for i := 1; i < len(p); i++ {
			for j := i; j > 0 && len(p[j]) > len(p[j-1]); j-- {
				p[j], p[j-1] = p[j-1], p[j]
			}
		}
	}
	byLen(lf.anywhere)
	byLen(lf.edge)
	lf.byFirst = map[string][]legalPhrase{}
	for _, p := range lf.anywhere {
		lf.byFirst[p[0]] = append(lf.byFirst[p[0]], legalPhrase{p, false})
	}
	for _, p := range lf.edge {
		lf.byFirst[p[0]] = append(lf.byFirst[p[0]], legalPhrase{p, true})
	}
	return lf
}

// hasPhrase reports whether p occurs in toks at position at. Tokens marked
// in loose (nil for none) may differ from a phrase word of five or more
// letters by one edit.
func hasPhrase(toks []string, at int, p []string, loose []bool) bool {
	if at+len(p) > len(toks) {
		return false
	}
	for k, w := range p {
		t := toks[at+k]
		if t == w {
			continue
		}
		if loose == nil || !loose[at+k] || len(w) < 5 || len(t) < len(w)-1 || len(t) > len(w)+1 || osaDistance(t, w) > 1 {
			return false
		}
	}
	return true
}

// strip returns toks without legal-form phrases. It allocates a new slice so
// that the caller's tokens stay intact.
// With fuzzy set, a token for which fuzzy returns true may differ from a
// legal-form word by one edit.
func (lf legalForms) strip(toks []string, fuzzy func(string) bool) []string {
	out := make([]string, 0, len(toks))
	var loose []bool
	if fuzzy != nil {
		loose = make([]bool, len(toks))
		any := false
		for i, t := range toks {
			loose[i] = len(t) >= 4 && fuzzy(t)
			any = any || loose[i]
		}
		if !any {
			loose, fuzzy = nil, nil
		}
	}
	for i := 0; i < len(toks); {
		n := 0
		// Exact phrases first, through the first-word index; anywhere
		// phrases precede edge phrases and each list is longest first.
		for _, p := range lf.byFirst[toks[i]] {
			if hasPhrase(toks, i, p.words, nil) && (!p.edge || i == 0 || i+len(p.words) == len(toks)) {
				n = len(p.words)
				break
			}
		}
		if n > 0 {
			i += n
			continue
		}
		if fuzzy == nil {
			out = append(out, toks[i])
			i++
			continue
		}
		for _, p := range lf.anywhere {
			if hasPhrase(toks, i, p, loose) {
				n = len(p)
				break
			}
		}
		if n == 0 {
			for _, p := range lf.edge {
				if hasPhrase(toks, i, p, loose) && (i == 0 || i+len(p) == len(toks)) {
					n = len(p)
					break
				}
			}
		}
		if n > 0 {
			i += n
			continue
		}
		out = append(out, toks[i])
		i++
	}
	// Edge forms may become edges once a leading or trailing "co ltd" is
	// gone ("X SA Co Ltd", "Ltd Co X"); one more pass at each end is
	// enough in practice.
	for len(out) > 1 {
		trimmed := false
		for _, p := range lf.edge {
			if len(out) > len(p) && hasPhrase(out, 0, p, nil) {
				out = out[len(p):]
				trimmed = true
				break
			}
		}
		if !trimmed {
			break
		}
	}
	for len(out) > 1 {
		trimmed := false
		for _, p := range lf.edge {
			if len(out) > len(p) && hasPhrase(out, len(out)-len(p), p, nil) {
				out = out[:len(out)-len(p)]
				trimmed = true
				break
			}
		}
		if !trimmed {
			break
		}
	}
	return out
}

// hanTermData maps Chinese business words and major place names to the Latin
// tokens the lists use, as "中文=english words". The normalizer segments a
// Chinese name by longest match against these keys and writes what is left as
// pinyin, so 华为技术有限公司 reads "huawei technology limited company" and
// matches "Huawei Technologies Co., Ltd.".
var hanTermData = []string{
	"股份有限公司=limited company", "有限责任公司=limited company", "有限公司=limited company",
	"集团有限公司=group limited company", "公司=company", "集团=group", "控股=holding",
	"技术=technology", "科技=technology", "高科技=high technology", "电子=electronics",
	"微电子=microelectronics", "半导体=semiconductor", "集成电路=integrated circuit",
	"通信=communication", "通讯=communication", "网络=network", "信息=information",
	"软件=software", "智能=intelligent", "人工智能=artificial intelligence", "计算机=computer",
	"计算=computing", "数据=data", "云=cloud", "系统=systems", "光电=optoelectronics",
	"光学=optics", "精密=precision", "仪器=instrument", "设备=equipment", "机械=machinery",
	"材料=materials", "能源=energy", "工程=engineering", "制造=manufacturing", "工业=industry",
	"实业=industrial", "重工=heavy industry", "航空=aviation", "航天=aerospace", "船舶=shipbuilding",
	"核=nuclear", "国际=international", "贸易=trading", "进出口=import export", "物流=logistics",
	"投资=investment", "发展=development", "研究所=research institute", "研究院=research institute",
	"研究中心=research center", "中心=center", "实验室=laboratory", "大学=university",
	"学院=institute", "国家=national", "中国=china", "香港=hong kong", "澳门=macau",
	"北京=beijing", "上海=shanghai", "深圳=shenzhen", "广州=guangzhou", "成都=chengdu",
	"武汉=wuhan", "杭州=hangzhou", "南京=nanjing", "天津=tianjin", "西安=xian",
	"重庆=chongqing", "苏州=suzhou", "长沙=changsha", "合肥=hefei", "哈尔滨=harbin",
	"东莞=dongguan", "珠海=zhuhai", "厦门=xiamen", "青岛=qingdao", "大连=dalian",
	"沈阳=shenyang", "郑州=zhengzhou", "济南=jinan", "无锡=wuxi", "宁波=ningbo", "绵阳=mianyang",
}
