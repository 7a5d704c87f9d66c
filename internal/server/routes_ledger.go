package server

import (
	"net/http"
	"strconv"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/ledger"
	"github.com/chipgate/chipgate/internal/service"
)

// intParam documents an integer query parameter of at least 0.
func intParam(name, desc string, required bool) Param {
	return Param{Name: name, Description: desc, Required: required, Schema: map[string]any{"type": "integer", "format": "int64", "minimum": 0}}
}

// queryInt reads an integer query parameter; def when absent.
func queryInt(r *http.Request, name string, def int64) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, domain.Invalid(name, "must be an integer")
	}
	return n, nil
}

// LeafHashesView is a range of leaf hashes.
type LeafHashesView struct {
	Start  int64         `json:"start"`
	Hashes []ledger.Hash `json:"hashes"`
}

func (s *Server) ledgerRoutes() []Route {
	svc := s.svc
	return []Route{
		{Method: "GET", Path: "/api/v1/ledger/checkpoint", Summary: "The latest signed checkpoint (C2SP tlog-checkpoint note)", Response: service.CheckpointView{},
			handle: read(func(r *http.Request, who domain.Actor) (any, error) {
				return svc.LatestCheckpoint(r.Context(), who)
			})},
		{Method: "GET", Path: "/api/v1/ledger/key", Summary: "The ledger's public verifier key (Go note format, text/plain)",
			Media: []string{"text/plain"},
			handle: func(w http.ResponseWriter, r *http.Request, who domain.Actor) error {
				k, err := svc.VerifierKey(r.Context(), who)
				if err != nil {
					return err
				}
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				_, err = w.Write([]byte(k + "\n"))
				return err
			}},
		{Method: "GET", Path: "/api/v1/ledger/proofs/inclusion", Summary: "Inclusion proof of entry ?index= in the tree of ?tree_size= (default: the whole log)",
			Response: ledger.InclusionProofJSON{}, Query: []Param{intParam("index", "The entry's index (0-based).", true), intParam("tree_size", "The tree's size; the whole log when absent.", false)},
			handle: read(func(r *http.Request, who domain.Actor) (any, error) {
				index, err := queryInt(r, "index", -1)
				if err != nil {
					return nil, err
				}
				size, err := queryInt(r, "tree_size", 0)
				if err != nil {
					return nil, err
				}
				return svc.InclusionProof(r.Context(), who, index, size)
			})},
		{Method: "GET", Path: "/api/v1/ledger/proofs/consistency", Summary: "Consistency proof from tree size ?from= to ?to= (default: the whole log)",
			Response: ledger.ConsistencyProofJSON{}, Query: []Param{intParam("from", "The smaller tree's size.", false), intParam("to", "The larger tree's size; the whole log when absent.", false)},
			handle: read(func(r *http.Request, who domain.Actor) (any, error) {
				from, err := queryInt(r, "from", 0)
				if err != nil {
					return nil, err
				}
				to, err := queryInt(r, "to", 0)
				if err != nil {
					return nil, err
				}
				return svc.ConsistencyProof(r.Context(), who, from, to)
			})},
		{Method: "GET", Path: "/api/v1/ledger/leaves", Summary: "Leaf hashes of entries ?start= to ?end= (exclusive, at most 10,000)", Response: LeafHashesView{},
			Query: []Param{intParam("start", "The first entry's index.", false), intParam("end", "The index after the last entry (at most start + 10,000; start + 100 when absent).", false)},
			handle: read(func(r *http.Request, who domain.Actor) (any, error) {
				start, err := queryInt(r, "start", 0)
				if err != nil {
					return nil, err
				}
				end, err := queryInt(r, "end", start+100)
				if err != nil {
					return nil, err
				}
				hs, err := svc.LeafHashes(r.Context(), who, start, end)
				return LeafHashesView{Start: start, Hashes: nonNil(hs)}, err
			})},
		{Method: "GET", Path: "/api/v1/ledger/entries/{index}", Summary: "One entry with its payload: every entry for the export authority, its own party's for others, none for auditors",
			Response: domain.AuditRecord{},
			handle: read(func(r *http.Request, who domain.Actor) (any, error) {
				i, err := strconv.ParseInt(r.PathValue("index"), 10, 64)
				if err != nil || i < 0 {
					return nil, domain.Errorf(domain.ENOTFOUND, "entry %q not found", r.PathValue("index"))
				}
				return svc.Entry(r.Context(), who, i)
			})},
		{Method: "GET", Path: "/api/v1/ledger/entries/{index}/public", Summary: "The public part of one entry (kind, time, actor role, objects) with its leaf hash and inclusion proof, never its payload: auditors and authorities",
			Response: service.PublicEntry{},
			handle: read(func(r *http.Request, who domain.Actor) (any, error) {
				i, err := strconv.ParseInt(r.PathValue("index"), 10, 64)
				if err != nil || i < 0 {
					return nil, domain.Errorf(domain.ENOTFOUND, "entry %q not found", r.PathValue("index"))
				}
				return svc.PublicEntry(r.Context(), who, i)
			})},
	}
}
