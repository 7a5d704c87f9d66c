package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/screening"
	"github.com/chipgate/chipgate/internal/screening/fallback"
)

// Soft memory limits of `chipgate screen` while loading lists and while
// searching (see runtime/debug.SetMemoryLimit); the budget is 150 MB
// resident.
const (
	screenLoadMemoryLimit  = 110 << 20
	screenQueryMemoryLimit = 120 << 20
)

// screenHit is one hit as `chipgate screen --json` writes it.
type screenHit struct {
	List     string   `json:"list"`
	SourceID string   `json:"source_id"`
	Name     string   `json:"name"`
	Score    float64  `json:"score"`
	Matched  string   `json:"matched"`
	Lists    []string `json:"lists,omitempty"`
	Key      string   `json:"key"`
}

// screenResult is one output line of `chipgate screen --json`.
type screenResult struct {
	Query string      `json:"query"`
	Hits  []screenHit `json:"hits"`
	Error string      `json:"error,omitempty"`
}

func newScreenCmd() *cobra.Command {
	var (
		listsDir string
		input    string
		minScore float64
		limit    int
		asJSON   bool
		country  string
		verbose  bool
		polFile  string
	)
	cmd := &cobra.Command{
		Use:   "screen [--lists DIR] [--min-score S] [--limit K] [--json] NAME... | --input FILE",
		Short: "Screen names against restricted-party lists",
		Long: `Screen names against restricted-party lists (OFAC SDN and non-SDN, the US
Consolidated Screening List, the BIS Denied Persons List, the UN list).

--lists DIR loads every list file recognized anywhere under DIR; without it the
embedded US Consolidated Screening List of April 2022 is used. Names come from
the arguments or, with --input FILE, one per line (- for standard input).
With --json each query produces one line:
  {"query": "...", "hits": [{"list": "SDN", "source_id": "...", "name": "...", "score": 0.97, "matched": "..."}]}
hits best first. Blank input lines are skipped; a name that cannot be screened
(no letters or digits, too long) gets an "error" field instead of hits, and
with names given as arguments the command then exits with status 1.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if (len(args) == 0) == (input == "") {
				return domain.Errorf(domain.EINVALID, "give names as arguments or --input FILE (one name per line), not both or neither")
			}
			if cmd.Flags().Changed("min-score") {
				if minScore <= 0 || minScore > 1 || math.IsNaN(minScore) {
					return domain.Invalid("min-score", "must be above 0 and at most 1")
				}
			} else {
				// The threshold is policy data (the screening rule in force
				// now); --min-score overrides it.
				pol, err := readPolicy(polFile)
				if err != nil {
					return err
				}
				minScore = screening.DefaultMinScore
				if p, _, ok := pol.At(time.Now()).Screening(); ok {
					minScore = p.MinScore
				}
			}
			if limit < 1 || limit > screening.MaxLimit {
				return domain.Invalid("limit", "must be between 1 and %d", screening.MaxLimit)
			}
			// Open the input before the (slow) list load, so that a wrong
			// path fails at once.
			var r io.Reader = cmd.InOrStdin()
			if input != "" && input != "-" {
				f, err := os.Open(input)
				if err != nil {
					return domain.Errorf(domain.EINVALID, "--input: %v", err)
				}
				defer f.Close()
				r = f
			}
			tuneMemory := os.Getenv("GOMEMLIMIT") == ""
			if tuneMemory {
				// Loading churns through about five times the index's
				// live size; a soft limit keeps the peak near 128 MB at
				// the cost of a few more collections. GOMEMLIMIT overrides.
				debug.SetMemoryLimit(screenLoadMemoryLimit)
			}
			var ds *screening.Dataset
			var err error
			if listsDir != "" {
				ds, err = screening.LoadDir(listsDir)
			} else {
				ds, err = fallback.Load()
			}
			if err != nil {
				return err
			}
			stderr := cmd.ErrOrStderr()
			if verbose {
				fmt.Fprint(stderr, ds.Report.String())
			} else if n := ds.Report.SkippedCount(); n > 0 || len(ds.Report.Unrecognized) > 0 {
				fmt.Fprintf(stderr, "chipgate: lists loaded with %d skipped records and %d unrecognized files (use --verbose to list them)\n", n, len(ds.Report.Unrecognized))
			}
			for _, f := range ds.Report.Files {
				if f.Error != "" {
					fmt.Fprintf(stderr, "chipgate: %s: %s\n", f.Path, f.Error)
				}
			}
			ix := screening.NewIndex(ds.Entities)
			ds = nil
			if tuneMemory {
				// Searching allocates little and briefly: a looser limit
				// after one collection saves the collections the load
				// limit would force on every few thousand queries.
				runtime.GC()
				debug.SetMemoryLimit(screenQueryMemoryLimit)
			}
			out := bufio.NewWriterSize(cmd.OutOrStdout(), 64<<10)
			defer out.Flush()
			run := func(name string) screenResult {
				hits, err := ix.Search(screening.Query{Name: name, Country: country, Limit: limit, MinScore: minScore})
				res := screenResult{Query: name, Hits: []screenHit{}}
				if err != nil {
					res.Error = domain.ErrorMessage(err)
					return res
				}
				for _, h := range hits {
					src := h.Entity.PrimarySource()
					res.Hits = append(res.Hits, screenHit{
						List: src.List, SourceID: src.ID, Name: h.Entity.Name,
						Score: math.Round(h.Score*10000) / 10000, Matched: h.Matched,
						Lists: h.Entity.Lists(), Key: h.Entity.Key,
					})
				}
				return res
			}
			if input == "" {
				var firstErr error
				for _, name := range args {
					res := run(name)
					if res.Error != "" && firstErr == nil {
						firstErr = domain.Errorf(domain.EINVALID, "%q: %s", name, res.Error)
					}
					if err := writeScreenResult(out, res, asJSON); err != nil {
						return err
					}
				}
				return firstErr
			}
			return screenLines(r, out, run, asJSON)
		},
	}
	cmd.Flags().StringVar(&listsDir, "lists", "", "directory of list files (default: the embedded 2022-04 Consolidated Screening List)")
	cmd.Flags().StringVar(&input, "input", "", "file of names, one per line (- for standard input)")
	cmd.Flags().Float64Var(&minScore, "min-score", 0, "lowest score reported, 0-1 (default: the policy's screening rule, min_score)")
	cmd.Flags().StringVar(&polFile, "policy", "", "policy file whose screening rule sets the threshold (default: the embedded default policy)")
	cmd.Flags().IntVar(&limit, "limit", screening.DefaultLimit, "hits per name")
	cmd.Flags().BoolVar(&asJSON, "json", false, "write one JSON object per name")
	cmd.Flags().StringVar(&country, "country", "", "country of the screened parties (ISO code or name); agreement raises scores")
	cmd.Flags().BoolVar(&verbose, "verbose", false, "print what was loaded from each list file, and what was skipped")
	return cmd
}

// screenLines screens every non-blank line of r, in parallel blocks, and
// writes the results in input order.
func screenLines(r io.Reader, out io.Writer, run func(string) screenResult, asJSON bool) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	workers := max(1, runtime.GOMAXPROCS(0))
	const block = 2048
	names := make([]string, 0, block)
	results := make([]screenResult, block)
	flush := func() error {
		var wg sync.WaitGroup
		per := (len(names) + workers - 1) / workers
		for w := 0; w < workers; w++ {
			lo, hi := w*per, min(len(names), (w+1)*per)
			if lo >= hi {
				break
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := lo; i < hi; i++ {
					results[i] = run(names[i])
				}
			}()
		}
		wg.Wait()
		for i := range names {
			if err := writeScreenResult(out, results[i], asJSON); err != nil {
				return err
			}
		}
		names = names[:0]
		return nil
	}
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		names = append(names, line)
		if len(names) == block {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return domain.Errorf(domain.EINVALID, "--input: %v", err)
	}
	return flush()
}

func writeScreenResult(w io.Writer, res screenResult, asJSON bool) error {
	if asJSON {
		b, err := json.Marshal(res)
		if err != nil {
			return err
		}
		b = append(b, '\n')
		_, err = w.Write(b)
		return err
	}
	if res.Error != "" {
		_, err := fmt.Fprintf(w, "%s\n  error: %s\n", res.Query, res.Error)
		return err
	}
	if _, err := fmt.Fprintf(w, "%s\n", res.Query); err != nil {
		return err
	}
	if len(res.Hits) == 0 {
		_, err := fmt.Fprintln(w, "  no hits")
		return err
	}
	for _, h := range res.Hits {
		matched := ""
		if h.Matched != h.Name {
			matched = fmt.Sprintf("  (matched %q)", h.Matched)
		}
		if _, err := fmt.Fprintf(w, "  %.3f  %-6s %-12s %s%s\n", h.Score, h.List, h.SourceID, h.Name, matched); err != nil {
			return err
		}
	}
	return nil
}
