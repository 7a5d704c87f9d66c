package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/chipgate/chipgate/internal/domain"
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
	h := sha256.New()
	var lb [4]byte
	put := func(b []byte) {
		binary.BigEndian.PutUint32(lb[:], uint32(len(b)))
		h.Write(lb[:])
		h.Write(b)
	}
	h.Write([]byte(stateRowMagic))
	put([]byte(r.Table))
	put([]byte(r.Key))
	for _, f := range r.Fields {
		put([]byte(f))
	}
	if r.HasDoc {
		h.Write([]byte{1})
		put(r.Doc)
	}
	var out Hash
	h.Sum(out[:0])
	return out
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
	if !bytes.HasPrefix(payload, []byte(StatePrefix)) {
		return nil, payload, ErrNoState
	}
	p := stateParser{in: payload, pos: len(StatePrefix)}
	var rows []StateRow
	var nulls []int
	if !p.peek(']') {
		for {
			r, isNull, err := p.row()
			if err != nil {
				return nil, nil, err
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
		return nil, nil, p.fail("want ] after the rows")
	}
	p.pos++
	var subject []byte
	switch {
	case p.peek('}') && p.pos == len(payload)-1:
		subject = []byte("{}")
	case p.peek(','):
		subject = make([]byte, 0, len(payload)-p.pos)
		subject = append(append(subject, '{'), payload[p.pos+1:]...)
	default:
		return nil, nil, p.fail("want , or } after _state")
	}
	for _, i := range nulls {
		rows[i].Doc = subject
	}
	return rows, subject, nil
}

type stateParser struct {
	in  []byte
	pos int
}

func (p *stateParser) fail(msg string) error {
	return fmt.Errorf("ledger: _state at byte %d: %s", p.pos, msg)
}

func (p *stateParser) peek(c byte) bool { return p.pos < len(p.in) && p.in[p.pos] == c }

// row parses one [table, key, field…, doc?] array.
func (p *stateParser) row() (StateRow, bool, error) {
	var r StateRow
	if !p.peek('[') {
		return r, false, p.fail("want [")
	}
	p.pos++
	var strs []string
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
			s, err := p.str()
			if err != nil {
				return r, false, err
			}
			strs = append(strs, s)
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
	if len(strs) < 2 {
		return r, false, p.fail("a row needs a table and a key")
	}
	r.Table, r.Key, r.Fields = strs[0], strs[1], strs[2:]
	return r, isNull, nil
}

// str parses a JSON string.
func (p *stateParser) str() (string, error) {
	start := p.pos
	p.pos++
	plain := true
	for p.pos < len(p.in) {
		c := p.in[p.pos]
		switch {
		case c == '"':
			p.pos++
			if plain {
				return string(p.in[start+1 : p.pos-1]), nil
			}
			s, err := strconv.Unquote(string(p.in[start:p.pos]))
			if err != nil {
				return "", p.fail("bad string")
			}
			return s, nil
		case c == '\\':
			plain = false
			p.pos += 2
		default:
			p.pos++
		}
	}
	return "", p.fail("unterminated string")
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
				i := bytes.IndexAny(p.in[p.pos:], `"\`)
				if i < 0 {
					return p.fail("unterminated string")
				}
				p.pos += i
				if p.in[p.pos] == '"' {
					break
				}
				p.pos += 2
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

// StateAt is a row's last post-state in the log: the record that wrote it
// (index and leaf hash), its content hash and the row itself.
type StateAt struct {
	Index   int64
	Leaf    Hash
	Content Hash
	Row     StateRow
}

// StateReplay rebuilds every state row from the log: for each record in
// index order, the post-state of each row it carries replaces that row's.
// Its zero value is empty and ready.
type StateReplay struct {
	Rows    map[StateKey]StateAt
	Records int64 // records applied
}

// Apply replays one record, whose leaf hash is leaf.
func (s *StateReplay) Apply(rec *domain.AuditRecord, leaf Hash) error {
	s.Records++
	rows, _, err := SplitState(rec.Payload)
	if errors.Is(err, ErrNoState) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("record %d: %w", rec.Index, err)
	}
	if s.Rows == nil {
		s.Rows = map[StateKey]StateAt{}
	}
	for _, r := range rows {
		s.Rows[r.ID()] = StateAt{Index: rec.Index, Leaf: leaf, Content: r.Hash(), Row: r}
	}
	return nil
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

// Compare compares the tables' rows with the replayed log, for the tables
// named by tables (rows of other tables in the log are not looked at), and
// returns every disagreement, ordered by table and key. zero reports
// whether a row the log never wrote may stand as it is (a counter created
// at zero).
func (s *StateReplay) Compare(stored []StoredRow, tables []string, zero func(StateRow) bool) []StateDiff {
	var out []StateDiff
	seen := make(map[StateKey]bool, len(stored))
	for i := range stored {
		st := &stored[i]
		k := st.Row.ID()
		seen[k] = true
		want, ok := s.Rows[k]
		if !ok {
			if st.Hash == nil && zero != nil && zero(st.Row) {
				continue
			}
			out = append(out, StateDiff{k.Table, k.Key, -1, "the log never wrote this row"})
			continue
		}
		switch {
		case st.Row.Hash() != want.Content:
			out = append(out, StateDiff{k.Table, k.Key, want.Index, "the row differs from its last post-state in the log" + describe(st.Row, want.Row)})
		case st.Index != want.Index:
			out = append(out, StateDiff{k.Table, k.Key, want.Index, fmt.Sprintf("the row names record %d, not the last one that changed it", st.Index)})
		case !bytes.Equal(st.Hash, want.Leaf[:]):
			out = append(out, StateDiff{k.Table, k.Key, want.Index, "the row's record hash is not the record's leaf hash"})
		}
	}
	want := map[string]bool{}
	for _, t := range tables {
		want[t] = true
	}
	for k, at := range s.Rows {
		if want[k.Table] && !seen[k] {
			out = append(out, StateDiff{k.Table, k.Key, at.Index, "the log wrote this row; the table has none"})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Table != out[j].Table {
			return out[i].Table < out[j].Table
		}
		return out[i].Key < out[j].Key
	})
	return out
}

// describe names the first field that differs between a row and its
// post-state.
func describe(got, want StateRow) string {
	for i := 0; i < len(got.Fields) && i < len(want.Fields); i++ {
		if got.Fields[i] != want.Fields[i] {
			return fmt.Sprintf(": field %d is %q, the log says %q", i+1, got.Fields[i], want.Fields[i])
		}
	}
	if len(got.Fields) != len(want.Fields) {
		return ": the number of fields differs"
	}
	if !bytes.Equal(got.Doc, want.Doc) {
		return fmt.Sprintf(": the document differs (%d bytes, the log's %d)", len(got.Doc), len(want.Doc))
	}
	return ""
}
