package domain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// CanonicalJSON encodes v as the canonical JSON chipgate records in the audit
// log: object keys sorted bytewise, no insignificant whitespace, no HTML
// escaping, numbers written as encoding/json writes them. Two encodings of
// equal values are equal bytes, so a record's hash does not depend on Go's
// struct field order.
//
// It is the bytes encoding/json gives when v is encoded, decoded into
// generic values (numbers kept as written) and encoded again, which is what
// defines it; it gets there without the generic values: it sorts the
// members of each object of the first encoding in place, and re-encodes only
// the rare strings that could change (those with escapes, invalid UTF-8, or
// U+2028/U+2029). Every command's audit record passes through here, inside
// the serialized writer, so the shortcut matters.
func CanonicalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("canonical json: %w", err)
	}
	raw := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	c := canonicalizer{in: raw, out: make([]byte, 0, len(raw))}
	if err := c.value(); err != nil {
		return nil, fmt.Errorf("canonical json: %w", err)
	}
	return c.out, nil
}

// canonicalizer rewrites compact JSON (encoding/json's output) in canonical
// form, reading in from pos and appending to out.
type canonicalizer struct {
	in  []byte
	pos int
	out []byte
}

var errMalformed = errors.New("malformed encoding")

// value copies one value.
func (c *canonicalizer) value() error {
	if c.pos >= len(c.in) {
		return errMalformed
	}
	switch c.in[c.pos] {
	case '{':
		return c.object()
	case '[':
		return c.array()
	case '"':
		s, err := c.stringToken()
		if err != nil {
			return err
		}
		return c.appendString(s)
	default:
		start := c.pos
		for c.pos < len(c.in) && !isDelimiter(c.in[c.pos]) {
			c.pos++
		}
		if start == c.pos {
			return errMalformed
		}
		c.out = append(c.out, c.in[start:c.pos]...)
		return nil
	}
}

func (c *canonicalizer) array() error {
	c.pos++ // [
	c.out = append(c.out, '[')
	for first := true; ; first = false {
		if c.pos >= len(c.in) {
			return errMalformed
		}
		if c.in[c.pos] == ']' {
			c.pos++
			c.out = append(c.out, ']')
			return nil
		}
		if !first {
			if c.in[c.pos] != ',' {
				return errMalformed
			}
			c.pos++
			c.out = append(c.out, ',')
		}
		if err := c.value(); err != nil {
			return err
		}
	}
}

// member is one canonicalized object member: its decoded key, and where its
// canonical bytes ("key":value) sit in out.
type member struct {
	key        string
	start, end int
}

// object canonicalizes each member into out, then, unless they already are,
// rewrites the members in key order. A key given twice keeps its last value,
// as decoding does.
func (c *canonicalizer) object() error {
	c.pos++ // {
	base := len(c.out)
	c.out = append(c.out, '{')
	var members []member
	for first := true; ; first = false {
		if c.pos >= len(c.in) {
			return errMalformed
		}
		if c.in[c.pos] == '}' {
			c.pos++
			break
		}
		if !first {
			if c.in[c.pos] != ',' {
				return errMalformed
			}
			c.pos++
			c.out = append(c.out, ',')
		}
		if c.pos >= len(c.in) || c.in[c.pos] != '"' {
			return errMalformed
		}
		start := len(c.out)
		key, err := c.stringToken()
		if err != nil {
			return err
		}
		if err := c.appendString(key); err != nil {
			return err
		}
		if c.pos >= len(c.in) || c.in[c.pos] != ':' {
			return errMalformed
		}
		c.pos++
		c.out = append(c.out, ':')
		if err := c.value(); err != nil {
			return err
		}
		members = append(members, member{key: decodedKey(key), start: start, end: len(c.out)})
	}
	inOrder := true
	for i := 1; i < len(members) && inOrder; i++ {
		inOrder = members[i-1].key < members[i].key
	}
	if !inOrder {
		slices.SortStableFunc(members, func(a, b member) int { return strings.Compare(a.key, b.key) })
		body := slices.Clone(c.out[base:])
		c.out = append(c.out[:base], '{')
		for i, m := range lastOfEachKey(members) {
			if i > 0 {
				c.out = append(c.out, ',')
			}
			c.out = append(c.out, body[m.start-base:m.end-base]...)
		}
	}
	c.out = append(c.out, '}')
	return nil
}

// lastOfEachKey keeps, of members stably sorted by key, the last of each key.
func lastOfEachKey(ms []member) []member {
	out := ms[:0]
	for i, m := range ms {
		if i+1 < len(ms) && ms[i+1].key == m.key {
			continue
		}
		out = append(out, m)
	}
	return out
}

// stringToken returns the raw string token at pos, quotes included.
func (c *canonicalizer) stringToken() ([]byte, error) {
	start := c.pos
	c.pos++ // opening quote
	for c.pos < len(c.in) {
		switch c.in[c.pos] {
		case '\\':
			c.pos += 2
		case '"':
			c.pos++
			return c.in[start:c.pos], nil
		default:
			c.pos++
		}
	}
	return nil, errMalformed
}

// appendString appends a string token as encoding/json would re-encode its
// decoded value: unchanged unless it has an escape, invalid UTF-8 or a line
// or paragraph separator, which take the slow path.
func (c *canonicalizer) appendString(tok []byte) error {
	body := tok[1 : len(tok)-1]
	if bytes.IndexByte(body, '\\') < 0 && utf8.Valid(body) && !bytes.Contains(body, []byte("\u2028")) && !bytes.Contains(body, []byte("\u2029")) {
		c.out = append(c.out, tok...)
		return nil
	}
	var s string
	if err := json.Unmarshal(tok, &s); err != nil {
		return err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return err
	}
	c.out = append(c.out, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
	return nil
}

// decodedKey is a key token's value, for ordering.
func decodedKey(tok []byte) string {
	body := tok[1 : len(tok)-1]
	if bytes.IndexByte(body, '\\') < 0 && utf8.Valid(body) {
		return string(body)
	}
	var s string
	_ = json.Unmarshal(tok, &s) // tok was checked by appendString
	return s
}

func isDelimiter(b byte) bool { return b == ',' || b == ':' || b == ']' || b == '}' }
