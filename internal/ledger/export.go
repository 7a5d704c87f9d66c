package ledger

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"golang.org/x/mod/sumdb/note"

	"github.com/chipgate/chipgate/internal/domain"
)

// An export is a directory that anyone can verify offline with Audit (the
// "chipgate ledger audit DIR" command) or with their own tools:
//
//	DIR/key.txt            the log's note verifier key, one line
//	DIR/entries.jsonl      one ExportEntry per line, index order from 0
//	DIR/checkpoints/*.txt  one signed checkpoint note per file, in signing order
//	DIR/README.txt         these lines, for whoever receives the directory
//
// Each line of entries.jsonl is the encoding/json form of an ExportEntry,
// exactly as Go writes it, so a line that is changed in any byte either
// fails to parse, is not in that form, or describes a different record.
const (
	ExportKeyFile         = "key.txt"
	ExportEntriesFile     = "entries.jsonl"
	ExportCheckpointsDir  = "checkpoints"
	exportReadmeFile      = "README.txt"
	maxExportLine         = 256 << 20 // a payload larger than this is not a state change
	exportCheckpointSufix = ".txt"
)

const exportReadme = `This directory is an export of a chipgate ledger.

key.txt            the log's verifier key (Go note / C2SP signed-note format, Ed25519)
entries.jsonl      one entry per line: {"leaf_hash": base64, "record": audit record}
checkpoints/*.txt  signed checkpoints (C2SP tlog-checkpoint): origin, size, base64 root

Verify it without any database:  chipgate ledger audit <this directory>
The leaf encoding and formats are described in docs/LEDGER.md of chipgate.
`

// ExportEntry is one line of entries.jsonl: a record and the leaf hash the
// log holds for it. The hash lets Audit name the exact record that was
// changed, not just the checkpoint that no longer matches.
type ExportEntry struct {
	LeafHash Hash               `json:"leaf_hash"`
	Record   domain.AuditRecord `json:"record"`
}

// ExportWriter writes an export directory a record at a time, so a log of
// any size streams through it. Not safe for concurrent use.
type ExportWriter struct {
	dir      string
	verifier note.Verifier
	f        *os.File
	w        *bufio.Writer
	lh       LeafHasher
	n        uint64
	ncp      int
	closed   bool
}

// CreateExport creates dir (it must not exist, or be empty) with the key
// file and an empty entries file. vkey is the log's verifier key; every
// checkpoint added must verify with it.
func CreateExport(dir, vkey string) (*ExportWriter, error) {
	v, err := ParseVerifierKey(vkey)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("ledger: export: %w", err)
	}
	if ents, err := os.ReadDir(dir); err != nil {
		return nil, fmt.Errorf("ledger: export: %w", err)
	} else if len(ents) > 0 {
		return nil, fmt.Errorf("ledger: export: %s is not empty", dir)
	}
	if err := os.Mkdir(filepath.Join(dir, ExportCheckpointsDir), 0o755); err != nil {
		return nil, fmt.Errorf("ledger: export: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ExportKeyFile), []byte(strings.TrimSpace(vkey)+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("ledger: export: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, exportReadmeFile), []byte(exportReadme), 0o644); err != nil {
		return nil, fmt.Errorf("ledger: export: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, ExportEntriesFile), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("ledger: export: %w", err)
	}
	return &ExportWriter{dir: dir, verifier: v, f: f, w: bufio.NewWriterSize(f, 1<<20)}, nil
}

// AddRecord appends the next record; its Index must be the number of
// records added so far.
func (e *ExportWriter) AddRecord(rec *domain.AuditRecord) error {
	if rec.Index < 0 || uint64(rec.Index) != e.n {
		return fmt.Errorf("ledger: export: record %d comes where %d belongs", rec.Index, e.n)
	}
	h, err := e.lh.Hash(rec)
	if err != nil {
		return err
	}
	line, err := json.Marshal(ExportEntry{LeafHash: h, Record: *rec})
	if err != nil {
		return fmt.Errorf("ledger: export: record %d: %w", rec.Index, err)
	}
	if _, err := e.w.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("ledger: export: %w", err)
	}
	e.n++
	return nil
}

// AddCheckpoint writes a signed checkpoint after checking its signature, so
// that an export never carries a checkpoint its own key rejects.
func (e *ExportWriter) AddCheckpoint(signed []byte) error {
	if _, err := OpenCheckpoint(signed, e.verifier); err != nil {
		return fmt.Errorf("ledger: export: %w", err)
	}
	e.ncp++
	name := filepath.Join(e.dir, ExportCheckpointsDir, fmt.Sprintf("%08d%s", e.ncp, exportCheckpointSufix))
	if err := os.WriteFile(name, signed, 0o644); err != nil {
		return fmt.Errorf("ledger: export: %w", err)
	}
	return nil
}

// Close flushes the entries to disk. The export is complete only once Close
// returned nil.
func (e *ExportWriter) Close() error {
	if e.closed {
		return nil
	}
	e.closed = true
	err := e.w.Flush()
	if err == nil {
		err = e.f.Sync()
	}
	if cerr := e.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("ledger: export: %w", err)
	}
	return nil
}

// ExportDir writes a whole export: the records in index order and the signed
// checkpoints in signing order. "chipgate ledger export" calls it with the
// store's records.
func ExportDir(dir, vkey string, records iter.Seq2[domain.AuditRecord, error], checkpoints [][]byte) (err error) {
	e, err := CreateExport(dir, vkey)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := e.Close(); err == nil {
			err = cerr
		}
	}()
	for rec, rerr := range records {
		if rerr != nil {
			return fmt.Errorf("ledger: export: read record %d: %w", e.n, rerr)
		}
		if err := e.AddRecord(&rec); err != nil {
			return err
		}
	}
	for _, c := range checkpoints {
		if err := e.AddCheckpoint(c); err != nil {
			return err
		}
	}
	return nil
}

// AuditReport describes an export that verified.
type AuditReport struct {
	Origin string `json:"origin"`
	VerifySummary
	// Latest is the checkpoint of the largest size, if any.
	Latest *Checkpoint `json:"latest,omitempty"`
	// Cosignatures are the valid cosignatures on Latest by the witnesses
	// the auditor trusts (AuditOptions.Witnesses).
	Cosignatures []Cosignature `json:"cosignatures,omitempty"`
	// Witnessed is the size of the largest checkpoint that carries
	// AuditOptions.Quorum valid cosignatures (0 when the quorum is 0).
	Witnessed uint64 `json:"witnessed"`
}

// AuditOptions is what an auditor brings besides the export.
type AuditOptions struct {
	// LogKey pins the log's verifier key. Empty trusts the export's
	// key.txt, which only proves that the export is consistent with itself.
	LogKey string
	// Checkpoints are signed checkpoints of the log obtained elsewhere: a
	// witness's latest, one the auditor kept from an earlier audit, one a
	// party was shown. Each must verify with the log's key and agree with
	// the export; one that does not is a split view (*SplitViewError).
	Checkpoints []SourcedNote
	// Witnesses verify the cosignatures of the witnesses the auditor
	// trusts (NewCosignatureVerifier), and Quorum is how many of them must
	// have cosigned the latest checkpoint (the policy's ledger.witnesses).
	Witnesses []note.Verifier
	Quorum    int
}

// SourcedNote is a signed checkpoint note and where it came from (a file
// name), for error messages and evidence.
type SourcedNote struct {
	Source string
	Note   []byte
}

// Audit verifies an export directory on its own terms: AuditWith with no
// options.
func Audit(dir string) (AuditReport, error) { return AuditWith(dir, AuditOptions{}) }

// AuditWith verifies an export directory without any database: every
// checkpoint signature (the export's and opts.Checkpoints), the absence of
// forks, every record's leaf hash, the tree root at every checkpoint size,
// that no signed entry is missing, and that the latest checkpoint carries
// opts.Quorum cosignatures. It returns a *VerifyError naming the first bad
// index, a *SplitViewError with both signed notes when the log signed two
// histories, or an error naming the file that is unreadable or carries a
// bad signature.
func AuditWith(dir string, opts AuditOptions) (AuditReport, error) {
	keyText, err := os.ReadFile(filepath.Join(dir, ExportKeyFile))
	if err != nil {
		return AuditReport{}, fmt.Errorf("ledger: audit: %w", err)
	}
	if opts.LogKey != "" && strings.TrimSpace(opts.LogKey) != strings.TrimSpace(string(keyText)) {
		return AuditReport{}, fmt.Errorf("ledger: audit: the export's %s holds %s, not the log key given (%s): this is another log, or its key was replaced",
			ExportKeyFile, strings.TrimSpace(string(keyText)), strings.TrimSpace(opts.LogKey))
	}
	v, err := ParseVerifierKey(string(keyText))
	if err != nil {
		return AuditReport{}, fmt.Errorf("ledger: audit: %s: %w", ExportKeyFile, err)
	}
	if opts.Quorum > len(opts.Witnesses) {
		return AuditReport{}, fmt.Errorf("ledger: audit: %d witnesses must cosign, but only %d witness keys were given", opts.Quorum, len(opts.Witnesses))
	}
	notes, err := readExportCheckpoints(dir)
	if err != nil {
		return AuditReport{}, err
	}
	notes = append(notes, opts.Checkpoints...)
	cps := make([]Checkpoint, len(notes))
	for i, n := range notes {
		if cps[i], err = OpenCheckpoint(n.Note, v); err != nil {
			return AuditReport{}, fmt.Errorf("ledger: audit: %s: %w", n.Source, err)
		}
	}
	if err := findSplitView(cps, notes); err != nil {
		return AuditReport{}, err
	}
	ver, err := NewVerifier(cps, nil)
	if err != nil {
		return AuditReport{}, err
	}
	ver.collect = true
	f, err := os.Open(filepath.Join(dir, ExportEntriesFile))
	if err != nil {
		return AuditReport{}, fmt.Errorf("ledger: audit: %w", err)
	}
	defer f.Close()
	if err := auditEntries(f, ver); err != nil {
		return AuditReport{}, err
	}
	sum, err := ver.Finish(context.Background())
	if err != nil {
		return AuditReport{}, err
	}
	if err := classifyMismatches(ver.mismatched, cps, notes); err != nil {
		return AuditReport{}, err
	}
	rep := AuditReport{Origin: v.Name(), VerifySummary: sum}
	for i := range cps {
		if rep.Latest == nil || cps[i].Size > rep.Latest.Size {
			rep.Latest = &cps[i]
		}
	}
	for i := range cps {
		_, cosigs, err := Cosignatures(notes[i].Note, v, opts.Witnesses)
		if err != nil {
			return AuditReport{}, fmt.Errorf("ledger: audit: %s: %w", notes[i].Source, err)
		}
		if opts.Quorum > 0 && len(cosigs) >= opts.Quorum && cps[i].Size > rep.Witnessed {
			rep.Witnessed = cps[i].Size
		}
		if cps[i].Size == rep.Latest.Size && len(cosigs) > len(rep.Cosignatures) {
			rep.Cosignatures = cosigs
		}
	}
	if opts.Quorum > 0 {
		switch {
		case rep.Latest == nil:
			return rep, fmt.Errorf("ledger: audit: %d witnesses must cosign, but the export holds no checkpoint", opts.Quorum)
		case rep.Witnessed < rep.Latest.Size:
			return rep, &WitnessError{Size: rep.Latest.Size, Have: len(rep.Cosignatures), Need: opts.Quorum, Witnessed: rep.Witnessed}
		}
	}
	return rep, nil
}

// WitnessError reports a latest checkpoint without the cosignatures the
// policy requires: nothing shows that the witnesses saw the same history.
type WitnessError struct {
	Size       uint64 // the latest checkpoint's size
	Have, Need int    // valid cosignatures on it, and how many are required
	Witnessed  uint64 // the largest checkpoint that has enough, 0 if none
}

// Error says how many cosignatures are missing and what is witnessed.
func (e *WitnessError) Error() string {
	s := fmt.Sprintf("ledger: the latest checkpoint (size %d) carries %d valid cosignatures of the %d required", e.Size, e.Have, e.Need)
	if e.Witnessed > 0 {
		s += fmt.Sprintf("; entries up to %d are witnessed, those from %d on are not", e.Witnessed-1, e.Witnessed)
	}
	return s
}

// findSplitView returns a *SplitViewError for two checkpoints of one size
// with different roots.
func findSplitView(cps []Checkpoint, notes []SourcedNote) error {
	first := map[uint64]int{}
	for i, c := range cps {
		j, ok := first[c.Size]
		if !ok {
			first[c.Size] = i
			continue
		}
		if cps[j].Root != c.Root {
			return &SplitViewError{Origin: c.Origin, Reason: fmt.Sprintf("two checkpoints of size %d have roots %s and %s", c.Size, cps[j].Root, c.Root),
				Sources: [2]string{notes[j].Source, notes[i].Source}, Notes: [2][]byte{notes[j].Note, notes[i].Note}}
		}
	}
	return nil
}

// classifyMismatches turns the checkpoints whose roots differ from the
// entries' into an error. One below a checkpoint that matched is a split
// view: the log signed a tree that is not a prefix of another it signed (a
// changed entry would make every later checkpoint differ too). Otherwise the
// entries from the last match on were changed.
func classifyMismatches(bad, cps []Checkpoint, notes []SourcedNote) error {
	if len(bad) == 0 {
		return nil
	}
	index := func(c Checkpoint) int {
		for i := range cps {
			if cps[i] == c {
				return i
			}
		}
		return -1
	}
	isBad := map[uint64]bool{}
	for _, b := range bad {
		isBad[b.Size] = true
	}
	m := bad[0] // sorted by size, like the verifier's checkpoints
	var good, lastGood = -1, uint64(0)
	for i, c := range cps {
		switch {
		case isBad[c.Size]:
		case c.Size >= m.Size && (good < 0 || c.Size < cps[good].Size):
			good = i
		case c.Size < m.Size && c.Size > lastGood:
			lastGood = c.Size
		}
	}
	if good >= 0 {
		i := index(m)
		return &SplitViewError{Origin: m.Origin,
			Reason:  fmt.Sprintf("the checkpoint of size %d (root %s) is not a prefix of the checkpoint of size %d (root %s), which the entries match", m.Size, m.Root, cps[good].Size, cps[good].Root),
			Sources: [2]string{notes[i].Source, notes[good].Source}, Notes: [2][]byte{notes[i].Note, notes[good].Note}}
	}
	return &VerifyError{Index: lastGood, Reason: fmt.Sprintf("the first %d entries do not have the root %s signed for that size (%s): an entry from %d to %d was changed",
		m.Size, m.Root, notes[index(m)].Source, lastGood, m.Size-1)}
}

// readExportCheckpoints reads every checkpoint file, in name order.
func readExportCheckpoints(dir string) ([]SourcedNote, error) {
	ents, err := os.ReadDir(filepath.Join(dir, ExportCheckpointsDir))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("ledger: audit: %w", err)
	}
	var out []SourcedNote
	for _, ent := range ents { // ReadDir sorts by name
		if ent.IsDir() || !strings.HasSuffix(ent.Name(), exportCheckpointSufix) {
			continue
		}
		name := filepath.Join(ExportCheckpointsDir, ent.Name())
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("ledger: audit: %w", err)
		}
		out = append(out, SourcedNote{Source: name, Note: data})
	}
	return out, nil
}

// auditBatch is how many lines Audit checks in parallel before feeding them
// to the tree in order.
const auditBatch = 2048

// auditedLine is one line of entries.jsonl after the checks that need no
// other line.
type auditedLine struct {
	rec    domain.AuditRecord
	leaf   Hash
	reason string // why the line is bad, or ""
}

// auditEntries feeds every line of entries.jsonl to ver. A line must be
// exactly what ExportWriter writes for the record it describes, and the
// record must hash to the leaf hash beside it; either failure names the
// line's index. Lines are parsed and hashed on all CPUs, a batch at a time,
// and fed to the tree in order, so the first bad index does not depend on the
// number of CPUs.
func auditEntries(r io.Reader, ver *Verifier) error {
	br := bufio.NewReaderSize(r, 1<<20)
	ctx := context.Background()
	lines := make([][]byte, 0, auditBatch)
	out := make([]auditedLine, auditBatch)
	flush := func() error {
		checkLines(lines, out)
		for k := range lines {
			i, a := ver.Size(), &out[k]
			if a.reason != "" {
				return &VerifyError{Index: i, Reason: a.reason}
			}
			if a.rec.Index < 0 || uint64(a.rec.Index) != i {
				return &VerifyError{Index: i, Reason: fmt.Sprintf("the record at this position has index %d: entries are missing, repeated or out of order", a.rec.Index)}
			}
			if err := ver.AddLeaf(ctx, a.leaf); err != nil {
				return err
			}
		}
		lines = lines[:0]
		return nil
	}
	for {
		line, err := readLine(br)
		if err == io.EOF {
			return flush()
		}
		if err != nil {
			if ferr := flush(); ferr != nil {
				return ferr
			}
			return &VerifyError{Index: ver.Size(), Reason: fmt.Sprintf("%s: %v", ExportEntriesFile, err)}
		}
		lines = append(lines, line)
		if len(lines) == auditBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
}

// checkLines runs checkLine over lines on GOMAXPROCS goroutines.
func checkLines(lines [][]byte, out []auditedLine) {
	workers := min(runtime.GOMAXPROCS(0), len(lines)/64)
	if workers <= 1 {
		var lh LeafHasher
		for k := range lines {
			out[k] = checkLine(lines[k], &lh)
		}
		return
	}
	var wg sync.WaitGroup
	chunk := (len(lines) + workers - 1) / workers
	for lo := 0; lo < len(lines); lo += chunk {
		hi := min(lo+chunk, len(lines))
		wg.Go(func() {
			var lh LeafHasher
			for k := lo; k < hi; k++ {
				out[k] = checkLine(lines[k], &lh)
			}
		})
	}
	wg.Wait()
}

// checkLine parses one line, insists that it is in the form ExportWriter
// writes (which also rejects unknown and repeated fields, since re-encoding
// drops them), and that its record hashes to its leaf hash.
func checkLine(line []byte, lh *LeafHasher) auditedLine {
	var ent ExportEntry
	if err := json.Unmarshal(line, &ent); err != nil {
		return auditedLine{reason: fmt.Sprintf("the entry does not parse: %v", err)}
	}
	canon, err := json.Marshal(ent)
	if err != nil {
		return auditedLine{reason: fmt.Sprintf("the entry does not encode: %v", err)}
	}
	if !bytes.Equal(canon, line) {
		return auditedLine{reason: "the entry is not in the form the log writes: it was edited"}
	}
	h, err := lh.Hash(&ent.Record)
	if err != nil {
		return auditedLine{reason: err.Error()}
	}
	if h != ent.LeafHash {
		return auditedLine{rec: ent.Record, reason: fmt.Sprintf("the record hashes to %s but the leaf hash beside it is %s: one of them was changed", h, ent.LeafHash)}
	}
	return auditedLine{rec: ent.Record, leaf: h}
}

// readLine returns the next line without its newline, io.EOF at the end, and
// an error for a line longer than maxExportLine or a last line without a
// newline (a truncated file).
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxExportLine {
			return nil, fmt.Errorf("a line longer than %d bytes", maxExportLine)
		}
		switch {
		case err == nil:
			return line[:len(line)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF && len(line) == 0:
			return nil, io.EOF
		case err == io.EOF:
			return nil, errors.New("the last line has no newline: the file is truncated")
		default:
			return nil, err
		}
	}
}
