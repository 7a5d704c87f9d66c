package screening

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"sort"
)

// ListVersion identifies the version of one list an index holds: the list
// code, how many entities it names, the newest listing date it gives and a
// digest of the content of those entities (their ContentHash, sorted), so
// that a screening can say which list versions it was run against and two
// loads of the same publication give the same version whatever the files'
// order.
type ListVersion struct {
	List     string `json:"list"`
	Entities int    `json:"entities"`
	// Newest is the latest listing date the list gives, as written ("" if
	// it gives none).
	Newest string `json:"newest,omitempty"`
	Digest string `json:"digest"`
}

// Versions returns the versions of the lists the index holds, by list
// code. It is computed on first use (a hash per entity) and then shared.
func (ix *Index) Versions() []ListVersion {
	if ix.versions == nil {
		return listVersions(ix.entities)
	}
	return ix.versions()
}

func listVersions(entities []Entity) []ListVersion {
	hashes := map[string][]string{}
	newest := map[string]string{}
	for i := range entities {
		e := &entities[i]
		h := e.ContentHash()
		for _, l := range e.Lists() {
			hashes[l] = append(hashes[l], h)
		}
		for _, s := range e.Sources {
			if s.Listed > newest[s.List] && isISODate(s.Listed) {
				newest[s.List] = s.Listed
			}
		}
	}
	out := make([]ListVersion, 0, len(hashes))
	for l, hs := range hashes {
		sort.Strings(hs)
		sum := sha256.New()
		for _, h := range hs {
			sum.Write([]byte(h))
			sum.Write([]byte{'\n'})
		}
		out = append(out, ListVersion{List: l, Entities: len(hs), Newest: newest[l], Digest: hex.EncodeToString(sum.Sum(nil)[:12])})
	}
	slices.SortFunc(out, func(a, b ListVersion) int {
		return listRank(a.List)*1000 - listRank(b.List)*1000 + cmpStr(a.List, b.List)
	})
	return out
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// isISODate reports whether s starts like YYYY-MM-DD, so that dates
// compare as text.
func isISODate(s string) bool {
	if len(s) < 10 {
		return false
	}
	for i, c := range s[:10] {
		if i == 4 || i == 7 {
			if c != '-' {
				return false
			}
		} else if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
