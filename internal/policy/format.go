package policy

import (
	"math"
	"strconv"
	"time"
)

// num writes a figure the way the rules are written: thousands separated by
// commas, at most two decimals, no trailing zeros ("36,000", "19.45").
func num(v float64) string { return string(appendNum(nil, v)) }

// inum writes an integer with thousands separators.
func inum(v int64) string { return string(appendInt(nil, v)) }

// Figure writes a number as the rules and reasons do: thousands separated
// by commas, at most two decimals ("15,832", "19.45").
func Figure(v float64) string { return num(v) }

// appendNum appends num(v) to b without intermediate strings: reasons are
// built for every decision, and a decision has a budget of a microsecond or
// two.
func appendNum(b []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.AppendFloat(b, v, 'f', -1, 64)
	}
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return appendInt(b, int64(v))
	}
	var tmp [48]byte
	s := strconv.AppendFloat(tmp[:0], v, 'f', 2, 64)
	for len(s) > 0 && s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	if len(s) > 0 && s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	if string(s) == "-0" {
		return append(b, '0')
	}
	return appendCommas(b, s)
}

// appendInt appends an integer with thousands separators.
func appendInt(b []byte, v int64) []byte {
	var tmp [24]byte
	return appendCommas(b, strconv.AppendInt(tmp[:0], v, 10))
}

// appendCommas copies a decimal number, inserting thousands separators into
// its integer part.
func appendCommas(b, s []byte) []byte {
	if len(s) > 0 && s[0] == '-' {
		b = append(b, '-')
		s = s[1:]
	}
	intLen := len(s)
	for i, c := range s {
		if c == '.' {
			intLen = i
			break
		}
	}
	for i := 0; i < intLen; i++ {
		if i > 0 && (intLen-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, s[i])
	}
	return append(b, s[intLen:]...)
}

// appendDate appends t's day as 2006-01-02, faster than AppendFormat.
func appendDate(b []byte, t time.Time) []byte {
	y, m, d := t.Date()
	if y < 0 || y > 9999 {
		return t.AppendFormat(b, time.DateOnly)
	}
	return append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+int(m)/10), byte('0'+int(m)%10), '-', byte('0'+d/10), byte('0'+d%10))
}
