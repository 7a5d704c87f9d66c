package screening

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/chipgate/chipgate/internal/domain"
)

// Format names a list file format LoadFS recognizes.
type Format string

// The recognized formats.
const (
	FormatOFACPrimary  Format = "ofac-legacy-csv"
	FormatOFACEnhanced Format = "ofac-enhanced-xml"
	FormatCSL          Format = "us-csl-csv"
	FormatDPL          Format = "bis-dpl-txt"
	FormatUN           Format = "un-consolidated-xml"
)

// FileReport says what one file contributed and what in it was skipped.
type FileReport struct {
	Path     string   `json:"path"`
	Format   Format   `json:"format"`
	Records  int      `json:"records"`
	Skipped  []Skip   `json:"skipped,omitempty"`
	Error    string   `json:"error,omitempty"`    // the file could not be read at all
	Sidecars []string `json:"sidecars,omitempty"` // the add, alt and comments files read with an OFAC primary file
	Notes    []string `json:"notes,omitempty"`    // things an operator should know that are not errors
}

// Report is what a load did: every file it read, what it skipped, and the
// files it did not recognize (so that no file is dropped silently).
type Report struct {
	Files        []FileReport `json:"files"`
	Unrecognized []string     `json:"unrecognized,omitempty"`
	Records      int          `json:"records"`  // records read from all files
	Entities     int          `json:"entities"` // after folding
}

// SkippedCount returns the number of skipped records over all files.
func (r Report) SkippedCount() int {
	n := 0
	for _, f := range r.Files {
		n += len(f.Skipped)
	}
	return n
}

// String summarizes the report for an operator, one line per file with
// problems listed underneath.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d records from %d files folded into %d entities\n", r.Records, len(r.Files), r.Entities)
	for _, f := range r.Files {
		fmt.Fprintf(&b, "  %s (%s): %d records", f.Path, f.Format, f.Records)
		if len(f.Sidecars) > 0 {
			fmt.Fprintf(&b, " with %s", strings.Join(f.Sidecars, ", "))
		}
		if len(f.Skipped) > 0 {
			fmt.Fprintf(&b, ", %d skipped", len(f.Skipped))
		}
		if f.Error != "" {
			fmt.Fprintf(&b, ", FAILED: %s", f.Error)
		}
		b.WriteByte('\n')
		for _, n := range f.Notes {
			fmt.Fprintf(&b, "    note: %s\n", n)
		}
		for _, s := range f.Skipped {
			fmt.Fprintf(&b, "    skipped %s\n", s)
		}
	}
	for _, u := range r.Unrecognized {
		fmt.Fprintf(&b, "  %s: not a list file I recognize; ignored\n", u)
	}
	return b.String()
}

// Dataset is the folded entities of a load and its report.
type Dataset struct {
	Entities []Entity
	Report   Report
}

// LoadDir loads every list file it recognizes anywhere under dir. See LoadFS.
func LoadDir(dir string) (*Dataset, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, domain.Errorf(domain.EINVALID, "list directory %s: %v", dir, err)
	}
	if !st.IsDir() {
		return nil, domain.Errorf(domain.EINVALID, "list directory %s: not a directory", dir)
	}
	return LoadFS(os.DirFS(dir))
}

// job is one unit of parsing: one file, or one OFAC legacy publication
// (a primary CSV with its address, alias and comment files).
type job struct {
	format Format
	paths  []string // primary first
	report FileReport
	out    []Entity
}

// LoadFS loads every list file it recognizes anywhere in fsys, by name and by
// content: OFAC legacy CSV (sdn.csv / cons_prim.csv with add, alt and
// comments files beside them), OFAC enhanced XML (plain or zipped), the US
// CSL CSV (plain or gzip), the BIS Denied Persons text file and the UN
// consolidated XML. Files are parsed concurrently, then entries repeated
// across files and lists are folded into one entity that keeps every
// source. Damaged records are skipped and reported; a file that cannot be
// read at all is reported with its error. LoadFS returns an EINVALID error
// only when nothing at all could be loaded.
func LoadFS(fsys fs.FS) (*Dataset, error) {
	var files []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, domain.Errorf(domain.EINVALID, "reading list directory: %v", err)
	}
	sort.Strings(files)
	jobs, unrecognized := planJobs(fsys, files)

	// Start the biggest jobs first, so that a large file does not run alone
	// at the end while the other cores idle; reports keep path order.
	byCost := slices.Clone(jobs)
	cost := map[*job]int64{}
	for _, j := range jobs {
		cost[j] = jobCost(fsys, j)
	}
	slices.SortStableFunc(byCost, func(a, b *job) int { return cmp.Compare(cost[b], cost[a]) })
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	for _, j := range byCost {
		wg.Add(1)
		sem <- struct{}{}
		go func(j *job) {
			defer wg.Done()
			defer func() { <-sem }()
			runJob(fsys, j)
		}(j)
	}
	wg.Wait()

	ds := &Dataset{}
	ds.Report.Unrecognized = unrecognized
	n := 0
	for _, j := range jobs {
		n += len(j.out)
	}
	all := make([]Entity, 0, n)
	for _, j := range jobs {
		ds.Report.Files = append(ds.Report.Files, j.report)
		ds.Report.Records += j.report.Records
		all = append(all, j.out...)
	}
	ds.Entities = Fold(all)
	ds.Report.Entities = len(ds.Entities)
	if len(ds.Entities) == 0 {
		return ds, domain.Errorf(domain.EINVALID, "no list entries found (%d files read, %d unrecognized)", len(jobs), len(unrecognized))
	}
	return ds, nil
}

// jobCost estimates a job's parsing work from its files' sizes; compressed
// files count for what they unpack to, roughly.
func jobCost(fsys fs.FS, j *job) int64 {
	var n int64
	for _, p := range j.paths {
		if p == "" {
			continue
		}
		st, err := fs.Stat(fsys, p)
		if err != nil {
			continue
		}
		size := st.Size()
		switch strings.ToLower(path.Ext(p)) {
		case ".gz":
			size *= 4
		case ".zip":
			size *= 16
		}
		n += size
	}
	return n
}

// ofacRole tells which part of an OFAC legacy publication a file name is.
func ofacRole(base string) (role string, list string) {
	switch strings.ToLower(base) {
	case "sdn.csv":
		return "primary", "SDN"
	case "cons_prim.csv":
		return "primary", ""
	case "add.csv", "sdn_add.csv":
		return "add", "SDN"
	case "cons_add.csv":
		return "add", ""
	case "alt.csv", "sdn_alt.csv":
		return "alt", "SDN"
	case "cons_alt.csv":
		return "alt", ""
	case "sdn_comments.csv":
		return "comments", "SDN"
	case "cons_comments.csv":
		return "comments", ""
	}
	return "", ""
}

// sniff reads the start of a file to tell its format.
func sniff(fsys fs.FS, p string) Format {
	f, err := fsys.Open(p)
	if err != nil {
		return ""
	}
	defer f.Close()
	head := make([]byte, 4096)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	if len(head) >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4 {
		return FormatOFACEnhanced // checked again when opened; the only zipped list we know
	}
	if len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b {
		r, err := maybeGunzip(bytes.NewReader(head))
		if err == nil {
			head, _ = io.ReadAll(io.LimitReader(r, 4096))
			// A cut-off gzip stream is fine here: we only need the header line.
		}
	}
	s := string(head)
	switch {
	case strings.HasPrefix(strings.TrimPrefix(s, "\ufeff"), "_id,source,") || strings.HasPrefix(strings.TrimPrefix(s, "\ufeff"), "\"_id\",\"source\""):
		return FormatCSL
	case strings.Contains(s, "<sanctionsData"):
		return FormatOFACEnhanced
	case strings.Contains(s, "<CONSOLIDATED_LIST"):
		return FormatUN
	case strings.Contains(s, "Street_Address") && strings.Contains(s, "\t"):
		return FormatDPL
	}
	return ""
}

// planJobs groups OFAC legacy files by directory and sniffs the rest.
func planJobs(fsys fs.FS, files []string) ([]*job, []string) {
	type group struct {
		list  string
		parts map[string]string
	}
	groups := map[string]*group{} // dir + "|" + sdn/cons
	var groupOrder []string
	var jobs []*job
	var unrecognized []string
	for _, p := range files {
		base := path.Base(p)
		if role, list := ofacRole(base); role != "" {
			kind := "cons"
			if list == "SDN" {
				kind = "sdn"
			}
			k := path.Dir(p) + "|" + kind
			g, ok := groups[k]
			if !ok {
				g = &group{list: list, parts: map[string]string{}}
				groups[k] = g
				groupOrder = append(groupOrder, k)
			}
			g.parts[role] = p
			continue
		}
		if f := sniff(fsys, p); f != "" {
			jobs = append(jobs, &job{format: f, paths: []string{p}})
			continue
		}
		unrecognized = append(unrecognized, p)
	}
	for _, k := range groupOrder {
		g := groups[k]
		j := &job{format: FormatOFACPrimary}
		for _, role := range []string{"primary", "add", "alt", "comments"} {
			if p, ok := g.parts[role]; ok {
				j.paths = append(j.paths, p)
			} else {
				j.paths = append(j.paths, "")
			}
		}
		jobs = append(jobs, j)
	}
	sort.SliceStable(jobs, func(a, b int) bool { return firstPath(jobs[a]) < firstPath(jobs[b]) })
	return jobs, unrecognized
}

func firstPath(j *job) string {
	for _, p := range j.paths {
		if p != "" {
			return p
		}
	}
	return ""
}

// runJob parses one job, recovering from a parser panic so that one bad
// file can never take the load down; the panic is reported as the file's
// error.
func runJob(fsys fs.FS, j *job) {
	j.report = FileReport{Path: firstPath(j), Format: j.format}
	defer func() {
		if r := recover(); r != nil {
			j.report.Error = fmt.Sprintf("parser failure: %v", r)
			j.out = nil
		}
	}()
	var skips []Skip
	var err error
	switch j.format {
	case FormatOFACPrimary:
		in := OFACLegacy{}
		var closers []io.Closer
		open := func(p string) io.Reader {
			if p == "" {
				return nil
			}
			f, oerr := fsys.Open(p)
			if oerr != nil {
				skips = append(skips, Skip{File: p, Reason: "cannot open: " + oerr.Error()})
				return nil
			}
			closers = append(closers, f)
			return f
		}
		in.PrimaryName, in.AddrName, in.AltName, in.CommentsN = j.paths[0], j.paths[1], j.paths[2], j.paths[3]
		if r := open(j.paths[0]); r != nil {
			in.Primary = r
		}
		if r := open(j.paths[1]); r != nil {
			in.Addresses = r
		}
		if r := open(j.paths[2]); r != nil {
			in.Aliases = r
		}
		if r := open(j.paths[3]); r != nil {
			in.Comments = r
		}
		if _, list := ofacRole(path.Base(firstPath(j))); list == "SDN" {
			in.List = "SDN"
		}
		for _, p := range j.paths[1:] {
			if p != "" && p != j.report.Path {
				j.report.Sidecars = append(j.report.Sidecars, path.Base(p))
			}
		}
		var s []Skip
		j.out, s = ParseOFACLegacy(in)
		skips = append(skips, s...)
		for _, c := range closers {
			c.Close()
		}
		if j.paths[0] == "" {
			j.report.Notes = append(j.report.Notes, fmt.Sprintf("no primary file (sdn.csv or cons_prim.csv) beside it: %d entries built from alias records only, folded by ent_num", len(j.out)))
		}
	default:
		var data []byte
		data, err = fs.ReadFile(fsys, j.paths[0])
		if err != nil {
			break
		}
		r := bytes.NewReader(data)
		switch j.format {
		case FormatCSL:
			j.out, skips, err = ParseCSL(r, j.paths[0])
		case FormatDPL:
			j.out, skips, err = ParseDPL(r, j.paths[0])
		case FormatUN:
			j.out, skips, err = ParseUN(r, j.paths[0])
		case FormatOFACEnhanced:
			if bytes.HasPrefix(data, []byte("PK")) {
				j.out, skips, err = ParseOFACEnhancedZip(data, j.paths[0])
			} else {
				j.out, skips, err = ParseOFACEnhancedXML(r, j.paths[0])
			}
		}
	}
	j.report.Records = len(j.out)
	j.report.Skipped = skips
	if err != nil {
		j.report.Error = err.Error()
	}
}
