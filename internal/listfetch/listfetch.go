// Package listfetch downloads the official restricted-party list files,
// checks that they parse, and replaces the stored copy atomically, keeping
// the last good copy whenever a download or a parse fails. It is the only
// part of chipgate that reaches outside the machine, and only to the
// addresses it is given.
package listfetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/chipgate/chipgate/internal/screening"
)

// Source is one file to download: where from, and the name it is stored
// under (the name tells the list loader what it is).
type Source struct {
	Name string
	URL  string
}

// DefaultSources are the official publications: the OFAC SDN list in its
// legacy CSV files and the US Consolidated Screening List.
var DefaultSources = []Source{
	{Name: "ofac/sdn.csv", URL: "https://www.treasury.gov/ofac/downloads/sdn.csv"},
	{Name: "ofac/add.csv", URL: "https://www.treasury.gov/ofac/downloads/add.csv"},
	{Name: "ofac/alt.csv", URL: "https://www.treasury.gov/ofac/downloads/alt.csv"},
	{Name: "ofac/sdn_comments.csv", URL: "https://www.treasury.gov/ofac/downloads/sdn_comments.csv"},
	{Name: "csl/consolidated.csv", URL: "https://data.trade.gov/downloadable_consolidated_screening_list/v1/consolidated.csv"},
}

// MaxFileBytes bounds one downloaded file.
const MaxFileBytes = 512 << 20

// Report says what a fetch changed.
type Report struct {
	Dir      string   `json:"dir"`
	Files    []string `json:"files"`
	Entities int      `json:"entities"`
	Skipped  int      `json:"skipped_records"`
	Added    []string `json:"added"`   // entity keys new in this copy
	Removed  []string `json:"removed"` // entity keys gone from it
}

// Fetch downloads every source into a new directory beside dir/current,
// loads it with the list parsers, and only if every file downloaded and
// parsed into at least one entity, moves it into place: dir/current becomes
// dir/previous and the new copy dir/current. On any failure dir/current is
// untouched and the error says what failed.
func Fetch(ctx context.Context, client *http.Client, dir string, sources []Source) (Report, error) {
	rep := Report{Dir: filepath.Join(dir, "current")}
	if len(sources) == 0 {
		return rep, errors.New("listfetch: no sources")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return rep, fmt.Errorf("listfetch: %w", err)
	}
	incoming, err := os.MkdirTemp(dir, ".incoming-")
	if err != nil {
		return rep, fmt.Errorf("listfetch: %w", err)
	}
	defer os.RemoveAll(incoming) // a no-op once it has been moved into place
	for _, s := range sources {
		if err := download(ctx, client, s, incoming); err != nil {
			return rep, err
		}
		rep.Files = append(rep.Files, s.Name)
	}
	fresh, err := screening.LoadDir(incoming)
	if err != nil {
		return rep, fmt.Errorf("listfetch: the downloaded lists do not load: %w", err)
	}
	if len(fresh.Report.Unrecognized) > 0 {
		return rep, fmt.Errorf("listfetch: %s: not a list file; keeping the current copy", strings.Join(fresh.Report.Unrecognized, ", "))
	}
	for _, f := range fresh.Report.Files {
		if f.Error != "" || f.Records == 0 {
			return rep, fmt.Errorf("listfetch: %s: no usable records (%s); keeping the current copy", f.Path, f.Error)
		}
	}
	rep.Entities, rep.Skipped = len(fresh.Entities), fresh.Report.SkippedCount()
	current := filepath.Join(dir, "current")
	if old, err := screening.LoadDir(current); err == nil {
		rep.Added, rep.Removed = diff(old.Entities, fresh.Entities)
	} else {
		rep.Added, _ = diff(nil, fresh.Entities)
	}
	previous := filepath.Join(dir, "previous")
	if err := os.RemoveAll(previous); err != nil {
		return rep, fmt.Errorf("listfetch: %w", err)
	}
	if err := os.Rename(current, previous); err != nil && !errors.Is(err, os.ErrNotExist) {
		return rep, fmt.Errorf("listfetch: %w", err)
	}
	if err := os.Rename(incoming, current); err != nil {
		// Put the last good copy back.
		_ = os.Rename(previous, current)
		return rep, fmt.Errorf("listfetch: %w", err)
	}
	return rep, syncDir(dir)
}

func download(ctx context.Context, client *http.Client, s Source, dir string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL, nil)
	if err != nil {
		return fmt.Errorf("listfetch: %s: %w", s.Name, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("listfetch: %s: %w", s.Name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("listfetch: %s: %s answered %s", s.Name, s.URL, resp.Status)
	}
	path := filepath.Join(dir, filepath.FromSlash(s.Name))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("listfetch: %w", err)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("listfetch: %w", err)
	}
	n, err := io.Copy(f, io.LimitReader(resp.Body, MaxFileBytes+1))
	if err == nil && n > MaxFileBytes {
		err = fmt.Errorf("larger than %d bytes", MaxFileBytes)
	}
	if err == nil && n == 0 {
		err = errors.New("empty")
	}
	if err = errors.Join(err, f.Sync(), f.Close()); err != nil {
		return fmt.Errorf("listfetch: %s: %w", s.Name, err)
	}
	return nil
}

func diff(old, fresh []screening.Entity) (added, removed []string) {
	had := map[string]bool{}
	for _, e := range old {
		had[e.Key] = true
	}
	has := map[string]bool{}
	for _, e := range fresh {
		has[e.Key] = true
		if !had[e.Key] {
			added = append(added, e.Key)
		}
	}
	for k := range had {
		if !has[k] {
			removed = append(removed, k)
		}
	}
	slices.Sort(added)
	slices.Sort(removed)
	return added, removed
}

// syncDir makes the renames durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}
