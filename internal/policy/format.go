package policy

import (
	"math"
	"strconv"
	"strings"
)

// num writes a figure the way the rules are written: thousands separated by
// commas, at most two decimals, no trailing zeros ("36,000", "19.45").
func num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	s := strconv.FormatFloat(v, 'f', 2, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" {
		s = "0"
	}
	return commas(s)
}

// inum writes an integer with thousands separators.
func inum(v int64) string { return commas(strconv.FormatInt(v, 10)) }

// commas inserts thousands separators into a decimal number's integer part.
func commas(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	b.Grow(len(s) + len(s)/3 + 1)
	if neg {
		b.WriteByte('-')
	}
	for i := 0; i < len(intPart); i++ {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteByte(intPart[i])
	}
	if hasFrac {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String()
}

// Figure writes a number as the rules and reasons do: thousands separated
// by commas, at most two decimals ("15,832", "19.45").
func Figure(v float64) string { return num(v) }
