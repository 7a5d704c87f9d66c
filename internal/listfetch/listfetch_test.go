package listfetch_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chipgate/chipgate/internal/listfetch"
)

// fixture is the small cut of the real lists in the repository's testdata.
const fixture = "../../testdata/lists"

// versions serves two versions of the OFAC SDN files and the CSL over a
// local server: v1 holds the fixture's first 150 SDN entries, v2 all but
// its first 10, so going from v1 to v2 adds and removes entities. The
// addresses, aliases and remarks files are the fixture's in both.
func versions(t *testing.T) (*httptest.Server, *bool) {
	t.Helper()
	sdn, err := os.ReadFile(filepath.Join(fixture, "ofac_sdn", "sdn.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(sdn), "\n")
	files := map[string]string{
		"/v1/sdn.csv": strings.Join(lines[:150], ""),
		"/v2/sdn.csv": strings.Join(lines[10:], ""),
	}
	var broken bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if broken && strings.HasSuffix(r.URL.Path, "consolidated.csv") {
			http.Error(w, "upstream down", http.StatusBadGateway)
			return
		}
		if body, ok := files[r.URL.Path]; ok {
			io.WriteString(w, body)
			return
		}
		// /v1/add.csv → ofac_sdn/add.csv; /csl/… and /README.md as they are.
		rel := strings.TrimPrefix(r.URL.Path, "/")
		if v, name, ok := strings.Cut(rel, "/"); ok && (v == "v1" || v == "v2") {
			rel = "ofac_sdn/" + name
		}
		http.ServeFile(w, r, filepath.Join(fixture, filepath.FromSlash(rel)))
	}))
	t.Cleanup(srv.Close)
	return srv, &broken
}

func TestFetchReplacesAtomicallyAndKeepsLastGoodCopy(t *testing.T) {
	srv, broken := versions(t)
	sources := func(v string) []listfetch.Source {
		return []listfetch.Source{
			{Name: "ofac/sdn.csv", URL: srv.URL + "/" + v + "/sdn.csv"},
			{Name: "ofac/add.csv", URL: srv.URL + "/" + v + "/add.csv"},
			{Name: "ofac/alt.csv", URL: srv.URL + "/" + v + "/alt.csv"},
			{Name: "ofac/sdn_comments.csv", URL: srv.URL + "/" + v + "/sdn_comments.csv"},
			{Name: "csl/consolidated.csv", URL: srv.URL + "/us_csl/consolidated.csv"},
		}
	}
	dir := t.TempDir()
	ctx := context.Background()

	// First fetch: v1.
	rep, err := listfetch.Fetch(ctx, srv.Client(), dir, sources("v1"))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Entities == 0 || len(rep.Added) != rep.Entities || len(rep.Removed) != 0 {
		t.Fatalf("first fetch: %d entities, %d added, %d removed", rep.Entities, len(rep.Added), len(rep.Removed))
	}
	first := rep.Entities

	// Second: v2 adds SDN entries and removes some (those not also on the
	// CSL, which folds with the SDN by OFAC number).
	rep, err = listfetch.Fetch(ctx, srv.Client(), dir, sources("v2"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Added) == 0 || len(rep.Removed) == 0 || rep.Entities != first+len(rep.Added)-len(rep.Removed) {
		t.Fatalf("second fetch: %d entities, %d added, %d removed", rep.Entities, len(rep.Added), len(rep.Removed))
	}
	if _, err := os.Stat(filepath.Join(dir, "previous", "ofac", "sdn.csv")); err != nil {
		t.Fatalf("the previous copy was not kept: %v", err)
	}

	// A failing download leaves the current copy as it was.
	*broken = true
	before, _ := os.ReadFile(filepath.Join(dir, "current", "ofac", "sdn.csv"))
	if _, err := listfetch.Fetch(ctx, srv.Client(), dir, sources("v1")); err == nil || !strings.Contains(err.Error(), "502") {
		t.Fatalf("fetch with a failing source: %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "current", "ofac", "sdn.csv"))
	if len(before) == 0 || string(before) != string(after) {
		t.Fatal("a failed fetch changed the current copy")
	}
	// A file that parses to nothing is refused too.
	*broken = false
	bad := sources("v1")
	bad[4].URL = srv.URL + "/ofac_sdn/sdn_comments.csv"
	if _, err := listfetch.Fetch(ctx, srv.Client(), dir, bad); err == nil {
		t.Fatal("a non-list file was accepted as the CSL")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".incoming-") {
			t.Fatalf("left behind %s", e.Name())
		}
	}
}
