package screening

// JaroWinkler returns the Jaro-Winkler similarity of a and b in [0, 1],
// comparing bytes (the normalizer has already folded names to lower-case
// ASCII where it can). The Winkler prefix bonus uses the usual 0.1 scale over
// at most four characters.
func JaroWinkler(a, b string) float64 {
	if a == b {
		if a == "" {
			return 0
		}
		return 1
	}
	la, lb := len(a), len(b)
	if la == 0 || lb == 0 {
		return 0
	}
	if la > lb {
		a, b, la, lb = b, a, lb, la
	}
	window := lb/2 - 1
	if window < 0 {
		window = 0
	}
	var amBuf, bmBuf [64]bool
	var am, bm []bool
	if lb <= 64 {
		am, bm = amBuf[:la], bmBuf[:lb]
	} else {
		am, bm = make([]bool, la), make([]bool, lb)
	}
	matches := 0
	for i := 0; i < la; i++ {
		lo, hi := max(0, i-window), min(lb, i+window+1)
		for j := lo; j < hi; j++ {
			if !bm[j] && a[i] == b[j] {
				am[i], bm[j] = true, true
				matches++
				break
			}
		}
	}
	if matches == 0 {
		return 0
	}
	trans, k := 0, 0
	for i := 0; i < la; i++ {
		if !am[i] {
			continue
		}
		for !bm[k] {
			k++
		}
		if a[i] != b[k] {
			trans++
		}
		k++
	}
	m := float64(matches)
	jaro := (m/float64(la) + m/float64(lb) + (m-float64(trans)/2)/m) / 3
	prefix := 0
	for prefix < 4 && prefix < la && a[prefix] == b[prefix] {
		prefix++
	}
	return jaro + float64(prefix)*0.1*(1-jaro)
}

// tokenSim is the similarity of two normalized tokens as the scorer uses
// it: exact for tokens of three characters or fewer (a fuzzy match between
// "li" and "le" says nothing), fuzzySim otherwise.
func tokenSim(a, b string) float64 {
	if a == b {
		return 1
	}
	if len(a) < 4 || len(b) < 4 {
		return 0
	}
	return fuzzySim(a, b)
}

// osaDistance is the optimal-string-alignment edit distance (insertions,
// deletions, substitutions and adjacent transpositions, each costing one).
func osaDistance(a, b string) int {
	la, lb := len(a), len(b)
	if la == 0 {
		return lb
	}
	if lb == 0 {
		return la
	}
	var buf [3 * 65]int
	var prev2, prev, cur []int
	if lb < 65 {
		prev2, prev, cur = buf[0:lb+1], buf[65:65+lb+1], buf[130:130+lb+1]
	} else {
		prev2, prev, cur = make([]int, lb+1), make([]int, lb+1), make([]int, lb+1)
	}
	for j := 0; j <= lb; j++ {
		prev[j] = j
	}
	for i := 1; i <= la; i++ {
		cur[0] = i
		for j := 1; j <= lb; j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[lb]
}

// fuzzySim is the similarity of two different tokens of four or more
// characters: the mean of Jaro-Winkler and the edit-distance similarity
// 1 - d/max(len). Jaro-Winkler alone forgives too much when a prefix is
// shared ("gallardo" / "galindo" 0.87); edit distance alone punishes short
// words too hard; the mean keeps one- and two-edit typos above 0.8 and
// different names below it. It returns 0 early when Jaro-Winkler alone
// already rules a pair out.
func fuzzySim(a, b string) float64 {
	// The bag distance (letters one word has and the other lacks) is a
	// lower bound on the edit distance and costs one pass: when it alone
	// puts the edit similarity under 2·tokenMatchMin-1 the pair cannot
	// reach tokenMatchMin, and Jaro-Winkler need not run.
	maxLen := max(len(a), len(b))
	if float64(bagDistance(a, b)) > (2-2*tokenMatchMin)*float64(maxLen) {
		return 0
	}
	jw := JaroWinkler(a, b)
	if jw < 2*tokenMatchMin-1 {
		return 0
	}
	d := osaDistance(a, b)
	return (jw + 1 - float64(d)/float64(max(len(a), len(b)))) / 2
}

// bagDistance is max(|A∖B|, |B∖A|) over the multisets of bytes of a and b
// (folded to 5 bits, which keeps the letters apart and only lowers the
// count otherwise, so it stays a lower bound on the edit distance).
func bagDistance(a, b string) int {
	var h [32]int8
	for i := 0; i < len(a); i++ {
		h[a[i]&31]++
	}
	for i := 0; i < len(b); i++ {
		h[b[i]&31]--
	}
	pos, neg := 0, 0
	for _, v := range h {
		if v > 0 {
			pos += int(v)
		} else {
			neg -= int(v)
		}
	}
	return max(pos, neg)
}

// bagFilter is bagDistance with one side's letter counts computed once, for
// comparing one query word with many listed words.
type bagFilter struct {
	h   [32]int8
	len int
}

func newBagFilter(a string) bagFilter {
	f := bagFilter{len: len(a)}
	for i := 0; i < len(a); i++ {
		f.h[a[i]&31]++
	}
	return f
}

// mayMatch reports whether fuzzySim(a, b) can reach tokenMatchMin as far as
// the bag distance tells.
func (f *bagFilter) mayMatch(b string) bool {
	h := f.h
	for i := 0; i < len(b); i++ {
		h[b[i]&31]--
	}
	pos, neg := 0, 0
	for _, v := range h {
		if v > 0 {
			pos += int(v)
		} else {
			neg -= int(v)
		}
	}
	return float64(max(pos, neg)) <= (2-2*tokenMatchMin)*float64(max(f.len, len(b)))
}
