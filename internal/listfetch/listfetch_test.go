package listfetch_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chipgate/chipgate/internal/listfetch"
)

// lists is the shared list directory the tests serve over a local server.
func lists(t *testing.T) string {
	dir, err := filepath.Abs("../../../shared/data/lists")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("no list files at %s", dir)
	}
	return dir
}

func TestFetchReplacesAtomicallyAndKeepsLastGoodCopy(t *testing.T) {
	src := lists(t)
	// serve maps a URL path to a file of the shared lists, or a failure.
	var broken bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if broken && strings.HasSuffix(r.URL.Path, "consolidated.csv") {
			http.Error(w, "upstream down", http.StatusBadGateway)
			return
		}
		http.ServeFile(w, r, filepath.Join(src, filepath.FromSlash(strings.TrimPrefix(r.URL.Path, "/"))))
	}))
	defer srv.Close()
	sources := func(sdnDir string) []listfetch.Source {
		return []listfetch.Source{
			{Name: "ofac/sdn.csv", URL: srv.URL + "/" + sdnDir + "/sdn.csv"},
			{Name: "ofac/add.csv", URL: srv.URL + "/" + sdnDir + "/add.csv"},
			{Name: "ofac/alt.csv", URL: srv.URL + "/" + sdnDir + "/alt.csv"},
			{Name: "ofac/sdn_comments.csv", URL: srv.URL + "/" + sdnDir + "/sdn_comments.csv"},
			{Name: "csl/consolidated.csv", URL: srv.URL + "/us_csl_sample_2025/consolidated.csv"},
		}
	}
	dir := t.TempDir()
	ctx := context.Background()

	// First fetch: the small 2025 SDN subset.
	rep, err := listfetch.Fetch(ctx, srv.Client(), dir, sources("ofac_sdn_subset_2025"))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Entities == 0 || len(rep.Added) != rep.Entities || len(rep.Removed) != 0 {
		t.Fatalf("first fetch: %d entities, %d added, %d removed", rep.Entities, len(rep.Added), len(rep.Removed))
	}
	first := rep.Entities

	// Second: the 2021 SDN list: thousands added, the 2025 subset's
	// newest entries removed.
	rep, err = listfetch.Fetch(ctx, srv.Client(), dir, sources("ofac_sdn_2021-07"))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Entities < 8000 || len(rep.Added) < 8000 || len(rep.Removed) == 0 {
		t.Fatalf("second fetch: %d entities, %d added, %d removed", rep.Entities, len(rep.Added), len(rep.Removed))
	}
	if _, err := os.Stat(filepath.Join(dir, "previous", "ofac", "sdn.csv")); err != nil {
		t.Fatalf("the previous copy was not kept: %v", err)
	}

	// A failing download leaves the current copy as it was.
	broken = true
	before, _ := os.ReadFile(filepath.Join(dir, "current", "ofac", "sdn.csv"))
	if _, err := listfetch.Fetch(ctx, srv.Client(), dir, sources("ofac_sdn_subset_2025")); err == nil || !strings.Contains(err.Error(), "502") {
		t.Fatalf("fetch with a failing source: %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "current", "ofac", "sdn.csv"))
	if len(before) == 0 || string(before) != string(after) {
		t.Fatal("a failed fetch changed the current copy")
	}
	// A file that parses to nothing is refused too.
	broken = false
	bad := sources("ofac_sdn_subset_2025")
	bad[4].URL = srv.URL + "/SOURCES.md"
	if _, err := listfetch.Fetch(ctx, srv.Client(), dir, bad); err == nil {
		t.Fatal("a non-list file was accepted as the CSL")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".incoming-") {
			t.Fatalf("left behind %s", e.Name())
		}
	}
	_ = first
}
