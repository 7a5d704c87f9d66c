package ledger

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"

	"github.com/chipgate/chipgate/internal/domain"
)

// StateReplay replays the log's post-states against the state rows the
// tables hold: for each record in index order, the post-state of each row it
// carries replaces that row's, and Diffs then names every row whose table
// and log disagree.
//
// It knows the tables' rows before the replay, so that it compares each
// post-state with the row as it goes, byte for byte where it lies in the
// record, rather than hashing every post-state and keeping it: equal bytes
// are what equal content hashes mean (StateRow.Hash encodes each column
// with its length). A record is decoded in place, without allocating, by a
// decoder that handles the records the program writes (no escapes in the
// columns); any other record goes through SplitState, the reference, so
// both accept and reject the same records (FuzzStateDecoder).
type StateReplay struct {
	Records int64 // records applied

	tables map[string]bool
	zero   func(StateRow) bool
	stored []StoredRow
	// selfDelim[i] says stored[i]'s document ends where the decoder
	// would end it, so that a record holding it byte for byte is known to
	// end the document there without scanning it.
	selfDelim []bool
	rows      []replayRow
	at        map[string]int32 // rowKey → rows index

	// slow sends every record through SplitState (tests compare the two).
	slow bool

	keyBuf []byte
	spans  []rowSpan
	fspans []span
	subj   []byte
}

// replayRow is one row the tables or the log have.
type replayRow struct {
	key    StateKey
	stored int32 // index in StateReplay.stored, -1 for none
	// written: the log wrote the row; index and leaf are its last record.
	written bool
	index   int64
	leaf    Hash
	// same: the last post-state's content is the stored row's. When it is
	// not, fields holds the post-state's columns as JSON strings and
	// docLen its document's length, for the diff's reason.
	same   bool
	docLen int
	fields []byte
}

// rowSpan is where one row of a record's _state lies.
type rowSpan struct {
	table, key span
	lo, hi     int   // its fields: fspans[lo:hi]
	doc        uint8 // docNone, docNull, docBytes
	dlo, dhi   int   // the document, for docBytes
	at         int32 // rows index, -1 for a row not seen yet
}

const (
	docNone = iota
	docNull
	docBytes
)

// NewStateReplay starts a replay of the log against the rows stored,
// for the tables named (rows of other tables in the log are not looked
// at). zero reports whether a row the log never wrote may stand as it is (a
// counter created at zero). stored is kept, not copied.
func NewStateReplay(stored []StoredRow, tables []string, zero func(StateRow) bool) *StateReplay {
	s := &StateReplay{zero: zero, stored: stored, tables: make(map[string]bool, len(tables)),
		selfDelim: make([]bool, len(stored)), rows: make([]replayRow, 0, len(stored)), at: make(map[string]int32, len(stored))}
	for _, t := range tables {
		s.tables[t] = true
	}
	for i := range stored {
		r := &stored[i].Row
		k := string(s.rowKey(r.Table, r.Key))
		if _, dup := s.at[k]; dup {
			// A key twice in the tables: the later row stands for it, as
			// in a map from key to row.
			s.rows[s.at[k]].stored = int32(i)
			continue
		}
		s.at[k] = int32(len(s.rows))
		s.rows = append(s.rows, replayRow{key: StateKey{r.Table, r.Key}, stored: int32(i), index: -1})
		if r.HasDoc && len(r.Doc) > 0 && (r.Doc[0] == '{' || r.Doc[0] == '[') {
			end, ok := skipValue(r.Doc, 0)
			s.selfDelim[i] = ok && end == len(r.Doc)
		}
	}
	return s
}

// rowKey returns a row's map key in s.keyBuf: the table's length, the
// table and the key, so that no two rows share one.
func (s *StateReplay) rowKey(table, key string) []byte {
	b := binary.AppendUvarint(s.keyBuf[:0], uint64(len(table)))
	s.keyBuf = append(append(b, table...), key...)
	return s.keyBuf
}

// rowKeyOf is rowKey of a table and key given as bytes.
func (s *StateReplay) rowKeyOf(table, key []byte) []byte {
	b := binary.AppendUvarint(s.keyBuf[:0], uint64(len(table)))
	s.keyBuf = append(append(b, table...), key...)
	return s.keyBuf
}

// Len returns the number of rows the log wrote.
func (s *StateReplay) Len() int {
	n := 0
	for i := range s.rows {
		if s.rows[i].written {
			n++
		}
	}
	return n
}

// Last returns the index of the last record that wrote the row, if any.
func (s *StateReplay) Last(k StateKey) (int64, bool) {
	i, ok := s.at[string(s.rowKey(k.Table, k.Key))]
	if !ok || !s.rows[i].written {
		return 0, false
	}
	return s.rows[i].index, true
}

// Apply replays one record, whose leaf hash is leaf.
func (s *StateReplay) Apply(rec *domain.AuditRecord, leaf Hash) error {
	s.Records++
	p := rec.Payload
	if !bytes.HasPrefix(p, []byte(StatePrefix)) {
		return nil
	}
	if rest, ok := s.decode(p); ok && !s.slow {
		s.applySpans(p, rest, rec.Index, &leaf)
		return nil
	}
	rows, rest, nulls, err := splitState(p)
	if errors.Is(err, ErrNoState) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("record %d: %w", rec.Index, err)
	}
	s.applyRows(rows, rest, nulls, rec.Index, &leaf)
	return nil
}

// decode cuts p's _state into s.spans and returns the rest of the payload
// (as splitState does). It reports false for a record it does not handle
// (a column with an escape, anything malformed): SplitState then decides.
func (s *StateReplay) decode(p []byte) (rest []byte, ok bool) {
	s.spans, s.fspans = s.spans[:0], s.fspans[:0]
	if !bytes.HasPrefix(p, []byte(StatePrefix)) {
		return nil, false
	}
	i := len(StatePrefix)
	if i < len(p) && p[i] == ']' {
		i++
	} else if i, ok = s.decodeRows(p, i); !ok {
		return nil, false
	}
	switch {
	case i == len(p)-1 && p[i] == '}':
		return nil, true
	case i < len(p) && p[i] == ',':
		return p[i+1:], true
	}
	return nil, false
}

// decodeRows cuts the rows from p[i], the first row's '[', to past the
// ']' that closes them.
func (s *StateReplay) decodeRows(p []byte, i int) (int, bool) {
	for {
		if i >= len(p) || p[i] != '[' {
			return 0, false
		}
		i++
		var r rowSpan
		r.lo = len(s.fspans)
		n := 0
		for ; ; n++ {
			if n > 0 {
				if i >= len(p) {
					return 0, false
				}
				if p[i] == ']' {
					break
				}
				if p[i] != ',' {
					return 0, false
				}
				i++
			}
			if r.doc != docNone || i >= len(p) {
				return 0, false
			}
			switch c := p[i]; {
			case c == '"':
				j := bytes.IndexByte(p[i+1:], '"')
				if j < 0 {
					return 0, false
				}
				sp := span{start: i, end: i + j + 2}
				if bytes.IndexByte(p[i+1:i+1+j], '\\') >= 0 {
					return 0, false
				}
				i = sp.end
				switch n {
				case 0:
					r.table = sp
				case 1:
					r.key = sp
					r.at = -1
					if k, ok := s.at[string(s.rowKeyOf(r.table.text(p), sp.text(p)))]; ok {
						r.at = k
					}
				default:
					s.fspans = append(s.fspans, sp)
				}
			case c == 'n':
				if !bytes.HasPrefix(p[i:], []byte("null")) {
					return 0, false
				}
				i += 4
				r.doc = docNull
			case c == '{' || c == '[':
				r.doc, r.dlo = docBytes, i
				if n >= 2 && r.at >= 0 {
					if st := s.rows[r.at].stored; st >= 0 && s.selfDelim[st] && bytes.HasPrefix(p[i:], s.stored[st].Row.Doc) {
						i += len(s.stored[st].Row.Doc)
						r.dhi = i
						continue
					}
				}
				end, ok := skipValue(p, i)
				if !ok {
					return 0, false
				}
				i, r.dhi = end, end
			default:
				return 0, false
			}
		}
		i++ // ]
		if n < 2 {
			return 0, false
		}
		r.hi = len(s.fspans)
		s.spans = append(s.spans, r)
		if i < len(p) && p[i] == ',' {
			i++
			continue
		}
		if i >= len(p) || p[i] != ']' {
			return 0, false
		}
		return i + 1, true
	}
}

// text returns the text of a string without escapes, aliasing p.
func (sp span) text(p []byte) []byte { return p[sp.start+1 : sp.end-1] }

// applySpans applies the rows decode found in p.
func (s *StateReplay) applySpans(p, rest []byte, index int64, leaf *Hash) {
	for k := range s.spans {
		r := &s.spans[k]
		at := r.at
		if at < 0 {
			// A row the tables do not have: its key, once, in one string
			// of its own (p is the caller's): "table","key" less the
			// outer quotes.
			both := string(p[r.table.start+1 : r.key.end-1])
			at = s.add(StateKey{both[:r.table.end-r.table.start-2], both[len(both)-(r.key.end-r.key.start-2):]})
			// A row twice in one record: the second finds the first.
			for j := k + 1; j < len(s.spans); j++ {
				if q := &s.spans[j]; q.at < 0 && bytes.Equal(q.table.text(p), r.table.text(p)) && bytes.Equal(q.key.text(p), r.key.text(p)) {
					q.at = at
				}
			}
		}
		row := &s.rows[at]
		row.written, row.index, row.leaf = true, index, *leaf
		fields := s.fspans[r.lo:r.hi]
		var doc []byte
		switch r.doc {
		case docNull:
			doc = s.subject(rest)
		case docBytes:
			doc = p[r.dlo:r.dhi]
		}
		row.same = false
		if row.stored >= 0 {
			st := &s.stored[row.stored].Row
			row.same = len(st.Fields) == len(fields) && sameDoc(st, r.doc != docNone, doc)
			for j := 0; row.same && j < len(fields); j++ {
				row.same = string(fields[j].text(p)) == st.Fields[j]
			}
		}
		if !row.same {
			row.docLen = len(doc)
			row.fields = row.fields[:0]
			for j, f := range fields {
				if j > 0 {
					row.fields = append(row.fields, ',')
				}
				row.fields = append(row.fields, p[f.start:f.end]...)
			}
		}
	}
}

// sameDoc reports whether a row has a document as a post-state has (hasDoc)
// and, if so, the same one.
func sameDoc(r *StateRow, hasDoc bool, doc []byte) bool {
	return r.HasDoc == hasDoc && (!hasDoc || bytes.Equal(r.Doc, doc))
}

// subject returns the payload's subject: '{' and the rest, in s.subj.
func (s *StateReplay) subject(rest []byte) []byte {
	s.subj = append(append(s.subj[:0], '{'), rest...)
	if rest == nil {
		s.subj = append(s.subj, '}')
	}
	return s.subj
}

// applyRows applies rows as splitState returns them.
func (s *StateReplay) applyRows(rows []StateRow, rest []byte, nulls []int, index int64, leaf *Hash) {
	if len(nulls) > 0 {
		subj := s.subject(rest)
		for _, i := range nulls {
			rows[i].Doc = subj
		}
	}
	for _, r := range rows {
		at, ok := s.at[string(s.rowKey(r.Table, r.Key))]
		if !ok {
			at = s.add(r.ID())
		}
		row := &s.rows[at]
		row.written, row.index, row.leaf = true, index, *leaf
		row.same = false
		if row.stored >= 0 {
			st := &s.stored[row.stored].Row
			row.same = len(st.Fields) == len(r.Fields) && sameDoc(st, r.HasDoc, r.Doc)
			for j := 0; row.same && j < len(r.Fields); j++ {
				row.same = r.Fields[j] == st.Fields[j]
			}
		}
		if !row.same {
			row.docLen = len(r.Doc)
			row.fields = row.fields[:0]
			for j, f := range r.Fields {
				if j > 0 {
					row.fields = append(row.fields, ',')
				}
				row.fields = appendJSONString(row.fields, f)
			}
		}
	}
}

// add adds a row the tables do not have.
func (s *StateReplay) add(k StateKey) int32 {
	at := int32(len(s.rows))
	s.at[string(s.rowKey(k.Table, k.Key))] = at
	s.rows = append(s.rows, replayRow{key: k, stored: -1, index: -1})
	return at
}

// Diffs returns every row where the tables and the replayed log disagree,
// ordered by table and key: a row the log never wrote (unless zero lets it
// stand), a row whose content is not its last post-state, a row that names
// another record than the last that changed it or whose record hash is not
// that record's leaf hash, and a row the log wrote that the table lacks.
func (s *StateReplay) Diffs() []StateDiff {
	var out []StateDiff
	for i := range s.rows {
		r := &s.rows[i]
		k := r.key
		if r.stored < 0 {
			if r.written && s.tables[k.Table] {
				out = append(out, StateDiff{k.Table, k.Key, r.index, "the log wrote this row; the table has none"})
			}
			continue
		}
		st := &s.stored[r.stored]
		switch {
		case !r.written:
			if st.Hash == nil && s.zero != nil && s.zero(st.Row) {
				continue
			}
			out = append(out, StateDiff{k.Table, k.Key, -1, "the log never wrote this row"})
		case !r.same:
			out = append(out, StateDiff{k.Table, k.Key, r.index, "the row differs from its last post-state in the log" + describe(st.Row, decodeFields(r.fields), r.docLen)})
		case st.Index != r.index:
			out = append(out, StateDiff{k.Table, k.Key, r.index, fmt.Sprintf("the row names record %d, not the last one that changed it", st.Index)})
		case !bytes.Equal(st.Hash, r.leaf[:]):
			out = append(out, StateDiff{k.Table, k.Key, r.index, "the row's record hash is not the record's leaf hash"})
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

// decodeFields decodes columns kept as JSON strings joined by commas.
func decodeFields(b []byte) []string {
	in := append([]byte(`["",""`), ',')
	if len(b) == 0 {
		in = in[:len(in)-1]
	}
	in = append(append(in, b...), ']')
	p := stateParser{in: in}
	r, _, err := p.row()
	if err != nil {
		return nil
	}
	return r.Fields
}

// skipValue returns where the JSON object or array at in[pos] ends, as
// stateParser.skip finds it (strings and nesting only), or false where
// skip fails.
func skipValue(in []byte, pos int) (int, bool) {
	depth := 0
	for pos < len(in) {
		c := in[pos]
		if c == '"' {
			pos++
			for {
				i := bytes.IndexByte(in[pos:], '"')
				if i < 0 {
					return 0, false
				}
				pos += i
				n := 0
				for j := pos - 1; j >= 0 && in[j] == '\\'; j-- {
					n++
				}
				if n%2 == 0 {
					break
				}
				pos++
			}
			pos++
			continue
		}
		switch c {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return pos + 1, true
			}
		}
		pos++
	}
	return 0, false
}
