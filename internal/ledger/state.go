package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
)

// State bound to the log (docs/LEDGER.md, "State bound to the log"): a
// record that changed state rows carries the post-state of each as the first
// member of its payload, {"_state":[<row>,…],<the subject's members>}. Each
// row is a JSON array: the table, the row's key, its other columns as
// strings, and for a table of documents the document's exact bytes (or null
// when they are the payload's subject, the payload without _state).

// StatePrefix opens the payload of a record that carries post-states.
const StatePrefix = `{"_state":[`

// stateRowMagic opens the bytes a row's content hash is taken over.
const stateRowMagic = "chipgate/state-row/v1\n"

// StateRow is the post-state of one state row.
type StateRow struct {
	Table string
	Key   string
	// Fields are the row's other columns as text, in the table's order.
	Fields []string
	// HasDoc marks a table of documents; Doc is the document's bytes.
	HasDoc bool
	Doc    []byte
}

// StateKey names a row: its table and key.
type StateKey struct{ Table, Key string }

// Name returns table/key.
func (k StateKey) Name() string { return k.Table + " " + k.Key }

// ID returns the row's key.
func (r *StateRow) ID() StateKey { return StateKey{r.Table, r.Key} }

// Hash returns the row's content hash: SHA-256 over stateRowMagic and the
// table, the key and each field, each with a 4-byte big-endian length, then
// for a document 0x01 and the document with its length. A row read from its
// table and the same row read from a record hash alike.
func (r *StateRow) Hash() Hash {
	return sha256.Sum256(r.appendHashInput(nil))
}

func (r *StateRow) appendHashInput(b []byte) []byte {
	put := func(b []byte, s string) []byte {
		return append(binary.BigEndian.AppendUint32(b, uint32(len(s))), s...)
	}
	b = append(b, stateRowMagic...)
	b = put(b, r.Table)
	b = put(b, r.Key)
	for _, f := range r.Fields {
		b = put(b, f)
	}
	if r.HasDoc {
		b = append(b, 1)
		b = binary.BigEndian.AppendUint32(b, uint32(len(r.Doc)))
		b = append(b, r.Doc...)
	}
	return b
}

// WithState returns payload (a JSON object) with the post-states of rows as
// its first member. A document equal to the payload is written as null.
func WithState(payload []byte, rows []StateRow) ([]byte, error) {
	if len(rows) == 0 {
		return payload, nil
	}
	if len(payload) < 2 || payload[0] != '{' || payload[len(payload)-1] != '}' {
		return nil, fmt.Errorf("ledger: a record that changes state needs a JSON object payload")
	}
	if bytes.HasPrefix(payload, []byte(`{"_state":`)) {
		return nil, fmt.Errorf("ledger: the payload has a _state member already")
	}
	n := len(payload) + len(StatePrefix) + 2
	for _, r := range rows {
		n += len(r.Table) + len(r.Key) + 8
		for _, f := range r.Fields {
			n += len(f) + 3
		}
		if r.HasDoc {
			n += len(r.Doc) + 1
		}
	}
	out := make([]byte, 0, n)
	out = append(out, StatePrefix...)
	for i, r := range rows {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, '[')
		out = appendJSONString(out, r.Table)
		out = append(out, ',')
		out = appendJSONString(out, r.Key)
		for _, f := range r.Fields {
			out = append(out, ',')
			out = appendJSONString(out, f)
		}
		if r.HasDoc {
			out = append(out, ',')
			switch {
			case bytes.Equal(r.Doc, payload):
				out = append(out, "null"...)
			case len(r.Doc) == 0 || (r.Doc[0] != '{' && r.Doc[0] != '['):
				return nil, fmt.Errorf("ledger: the document of %s %s is not a JSON object or array", r.Table, r.Key)
			default:
				out = append(out, r.Doc...)
			}
		}
		out = append(out, ']')
	}
	out = append(out, ']')
	if len(payload) > 2 {
		out = append(out, ',')
	}
	return append(out, payload[1:]...), nil
}

// ErrNoState is SplitState's answer for a payload without post-states.
var ErrNoState = errors.New("ledger: the record carries no post-state")

// SplitState returns the post-states a record's payload carries and the
// payload without them (the subject). A null document is the subject. It
// returns ErrNoState for a payload that does not open with StatePrefix.
// The rows' strings and documents alias payload's bytes where they can.
func SplitState(payload []byte) ([]StateRow, []byte, error) {
	rows, rest, nulls, err := splitState(payload)
	if err != nil {
		return nil, rest, err
	}
	subject := []byte("{}")
	if rest != nil {
		subject = make([]byte, 0, len(rest)+1)
		subject = append(append(subject, '{'), rest...)
	}
	for _, i := range nulls {
		rows[i].Doc = subject
	}
	return rows, subject, nil
}

// splitState is SplitState without building the subject: rest is the
// payload after _state and its comma (nil for an empty subject), and nulls
// are the rows whose document is the subject.
func splitState(payload []byte) (rows []StateRow, rest []byte, nulls []int, err error) {
	if !bytes.HasPrefix(payload, []byte(StatePrefix)) {
		return nil, payload, nil, ErrNoState
	}
	p := stateParser{in: payload, pos: len(StatePrefix)}
	rows = make([]StateRow, 0, 4)
	if !p.peek(']') {
		for {
			r, isNull, err := p.row()
			if err != nil {
				return nil, nil, nil, err
			}
			if isNull {
				nulls = append(nulls, len(rows))
			}
			rows = append(rows, r)
			if p.peek(',') {
				p.pos++
				continue
			}
			break
		}
	}
	if !p.peek(']') {
		return nil, nil, nil, p.fail("want ] after the rows")
	}
	p.pos++
	switch {
	case p.peek('}') && p.pos == len(payload)-1:
		return rows, nil, nulls, nil
	case p.peek(','):
		return rows, payload[p.pos+1:], nulls, nil
	}
	return nil, nil, nil, p.fail("want , or } after _state")
}

type stateParser struct {
	in  []byte
	pos int
}

func (p *stateParser) fail(msg string) error {
	return fmt.Errorf("ledger: _state at byte %d: %s", p.pos, msg)
}

func (p *stateParser) peek(c byte) bool { return p.pos < len(p.in) && p.in[p.pos] == c }

// span is where a string of a row lies in the payload: [start, end) with
// its quotes; escaped when it holds a backslash.
type span struct {
	start, end int
	escaped    bool
}

// row parses one [table, key, field…, doc?] array. Its strings are cut
// from one copy of the row's text: one allocation for all of them.
func (p *stateParser) row() (StateRow, bool, error) {
	var r StateRow
	if !p.peek('[') {
		return r, false, p.fail("want [")
	}
	p.pos++
	var spansBuf [8]span
	spans := spansBuf[:0]
	isNull := false
	for i := 0; ; i++ {
		if i > 0 {
			if p.peek(']') {
				break
			}
			if !p.peek(',') {
				return r, false, p.fail("want , or ]")
			}
			p.pos++
		}
		if r.HasDoc {
			return r, false, p.fail("the document must be the row's last element")
		}
		switch {
		case p.peek('"'):
			sp, err := p.str()
			if err != nil {
				return r, false, err
			}
			spans = append(spans, sp)
		case bytes.HasPrefix(p.in[p.pos:], []byte("null")):
			p.pos += 4
			r.HasDoc, isNull = true, true
		case p.peek('{') || p.peek('['):
			start := p.pos
			if err := p.skip(); err != nil {
				return r, false, err
			}
			r.HasDoc, r.Doc = true, p.in[start:p.pos]
		default:
			return r, false, p.fail("want a string, a document or null")
		}
	}
	p.pos++ // ]
	if len(spans) < 2 {
		return r, false, p.fail("a row needs a table and a key")
	}
	base := spans[0].start
	text := string(p.in[base:spans[len(spans)-1].end])
	strs := make([]string, len(spans))
	for i, sp := range spans {
		q := text[sp.start-base : sp.end-base]
		if !sp.escaped {
			strs[i] = q[1 : len(q)-1]
			continue
		}
		u, err := strconv.Unquote(q)
		if err != nil {
			return r, false, p.fail("bad string")
		}
		strs[i] = u
	}
	r.Table, r.Key, r.Fields = strs[0], strs[1], strs[2:]
	return r, isNull, nil
}

// str passes over a JSON string.
func (p *stateParser) str() (span, error) {
	sp := span{start: p.pos}
	p.pos++
	for p.pos < len(p.in) {
		switch p.in[p.pos] {
		case '"':
			p.pos++
			sp.end = p.pos
			return sp, nil
		case '\\':
			sp.escaped = true
			p.pos += 2
		default:
			p.pos++
		}
	}
	return sp, p.fail("unterminated string")
}

// skip passes over one JSON object or array: strings and nesting only, as
// the documents were stored by the writer and are not interpreted here.
func (p *stateParser) skip() error {
	depth := 0
	for p.pos < len(p.in) {
		switch p.in[p.pos] {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				p.pos++
				return nil
			}
		case '"':
			p.pos++
			for {
				i := bytes.IndexByte(p.in[p.pos:], '"')
				if i < 0 {
					return p.fail("unterminated string")
				}
				p.pos += i
				// The quote ends the string unless an odd number of
				// backslashes escapes it.
				n := 0
				for j := p.pos - 1; j >= 0 && p.in[j] == '\\'; j-- {
					n++
				}
				if n%2 == 0 {
					break
				}
				p.pos++
			}
		}
		p.pos++
	}
	return p.fail("unterminated document")
}

// appendJSONString appends s as a JSON string that strconv.Unquote reads
// back: quotes, backslashes and control characters escaped, other bytes as
// they are (the columns are ids, slugs, statuses and times: UTF-8).
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20 || c == 0x7f:
			dst = append(dst, `\u00`...)
			dst = append(dst, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

// StoredRow is a state row as its table holds it, with the record it names
// (Hash nil for none).
type StoredRow struct {
	Row   StateRow
	Index int64
	Hash  []byte
}

// StateDiff names a row where the tables and the log disagree.
type StateDiff struct {
	Table, Key string
	// Index is the record that last wrote the row (-1 for none).
	Index  int64
	Reason string
}

func (d StateDiff) String() string {
	if d.Index < 0 {
		return fmt.Sprintf("%s %s: %s", d.Table, d.Key, d.Reason)
	}
	return fmt.Sprintf("%s %s (record %d): %s", d.Table, d.Key, d.Index, d.Reason)
}

// describe names the first field that differs between a row and its
// post-state, whose fields are want and whose document is docLen bytes.
func describe(got StateRow, want []string, docLen int) string {
	for i := 0; i < len(got.Fields) && i < len(want); i++ {
		if got.Fields[i] != want[i] {
			return fmt.Sprintf(": field %d is %q, the log says %q", i+1, got.Fields[i], want[i])
		}
	}
	if len(got.Fields) != len(want) {
		return ": the number of fields differs"
	}
	return fmt.Sprintf(": the document differs (%d bytes, the log's %d)", len(got.Doc), docLen)
}
