package screening

import (
	"runtime"
	"slices"
	"strings"
	"sync"
)

// foldKeyOf returns the key under which records of the same party meet:
// the OFAC number or UN reference when the record has one, else the list and
// the folded name (the Entity List and the Denied Persons List repeat a
// party once per address, and the CSL repeats the DPL file's rows).
func foldKeyOf(e *Entity) string {
	if e.Key != "" {
		return e.Key
	}
	list := ""
	if len(e.Sources) > 0 {
		list = e.Sources[0].List
	}
	return list + ":" + foldKey(e.Name)
}

// Fold merges records of the same party into one entity that keeps every
// source, every name, address, country, program and date. The first record
// with a real primary name gives the entity its name; a name that came only
// from an alias file yields to it. Order follows first appearance, so a load
// is deterministic.
func Fold(records []Entity) []Entity {
	idx := make(map[string]int, len(records))
	out := make([]Entity, 0, len(records))
	weak := make(map[string]bool, len(records))
	for i := range records {
		r := &records[i]
		k := foldKeyOf(r)
		isWeak := len(r.Sources) == 1 && r.Sources[0].Line == 0
		j, ok := idx[k]
		if !ok {
			idx[k] = len(out)
			c := *r
			c.Key = k
			// Full slice expressions: a later append reallocates instead of
			// writing into the caller's arrays, and nothing is copied now.
			c.Aliases = r.Aliases[:len(r.Aliases):len(r.Aliases)]
			c.Sources = r.Sources[:len(r.Sources):len(r.Sources)]
			c.Addresses = r.Addresses[:len(r.Addresses):len(r.Addresses)]
			c.Countries = r.Countries[:len(r.Countries):len(r.Countries)]
			c.Programs = r.Programs[:len(r.Programs):len(r.Programs)]
			c.Dates = r.Dates[:len(r.Dates):len(r.Dates)]
			c.IDs = r.IDs[:len(r.IDs):len(r.IDs)]
			out = append(out, c)
			weak[k] = isWeak
			continue
		}
		e := &out[j]
		if weak[k] && !isWeak {
			// A real primary record arrives after an alias-only one.
			e.Aliases = append(e.Aliases, e.Name)
			e.Name = r.Name
			weak[k] = false
			r = &Entity{Type: r.Type, Aliases: r.Aliases, Addresses: r.Addresses, Countries: r.Countries,
				Programs: r.Programs, Dates: r.Dates, IDs: r.IDs, Remarks: r.Remarks, Sources: r.Sources}
		}
		merge(e, r)
	}
	out = foldAcrossLists(out)
	// Entities are independent now; tidy them on every core.
	workers := max(1, runtime.GOMAXPROCS(0))
	chunk := (len(out) + workers - 1) / workers
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := w*chunk, min(len(out), (w+1)*chunk)
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				tidy(&out[i])
			}
		}()
	}
	wg.Wait()
	return out
}

// merge adds r's names, facts and sources to e.
func merge(e, r *Entity) {
	if r.Name != "" {
		e.Aliases = append(e.Aliases, r.Name)
	}
	if e.Type == TypeUnknown {
		e.Type = r.Type
	}
	e.Aliases = append(e.Aliases, r.Aliases...)
	e.Addresses = append(e.Addresses, r.Addresses...)
	e.Countries = append(e.Countries, r.Countries...)
	e.Programs = append(e.Programs, r.Programs...)
	e.Dates = append(e.Dates, r.Dates...)
	e.IDs = append(e.IDs, r.IDs...)
	if r.Remarks != "" && !strings.Contains(e.Remarks, r.Remarks) {
		e.Remarks = strings.TrimSpace(e.Remarks + " " + r.Remarks)
	}
	e.Sources = append(e.Sources, r.Sources...)
}

// foldAcrossLists merges organizations that different lists name with the
// very same name (legal form included): "HUAWEI TECHNOLOGIES CO., LTD." on
// the CMIC list and "Huawei Technologies Co., Ltd." on the Entity List are
// one company. Entities with their own list id (OFAC number, UN reference)
// are never merged with each other, since the list keeps them apart on
// purpose; individuals are never merged by name, since namesakes are common.
func foldAcrossLists(in []Entity) []Entity {
	anchor := map[string]int{}
	byID := func(e *Entity) bool {
		return strings.HasPrefix(e.Key, "ofac:") || strings.HasPrefix(e.Key, "UN:")
	}
	for i := range in {
		e := &in[i]
		if e.Type == TypeIndividual || !byID(e) {
			continue
		}
		k := foldKey(e.Name)
		if _, ok := anchor[k]; !ok && k != "" {
			anchor[k] = i
		}
	}
	gone := make([]bool, len(in))
	for i := range in {
		e := &in[i]
		if e.Type == TypeIndividual || byID(e) {
			continue
		}
		k := foldKey(e.Name)
		j, ok := anchor[k]
		if !ok {
			anchor[k] = i
			continue
		}
		if j == i {
			continue
		}
		r := *e
		r.Name = "" // same name; nothing to add as an alias
		merge(&in[j], &r)
		gone[i] = true
	}
	out := in[:0]
	for i := range in {
		if !gone[i] {
			out = append(out, in[i])
		}
	}
	return out
}

// tidy removes duplicates that folding and the lists themselves create.
// The slices are short, so linear scans beat maps here (loading folds tens
// of thousands of entities).
func tidy(e *Entity) {
	nameKey := foldKey(e.Name)
	keys := make([]string, 0, len(e.Aliases))
	aliases := e.Aliases[:0]
	for _, a := range e.Aliases {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		k := foldKey(a)
		if k == nameKey || slices.Contains(keys, k) {
			continue
		}
		keys = append(keys, k)
		aliases = append(aliases, a)
	}
	e.Aliases = aliases
	e.Countries = dedupe(e.Countries)
	e.Programs = dedupe(e.Programs)
	e.Dates = dedupe(e.Dates)
	e.IDs = dedupe(e.IDs)
	addrs := e.Addresses[:0]
	for _, a := range e.Addresses {
		if !slices.Contains(addrs, a) {
			addrs = append(addrs, a)
		}
	}
	e.Addresses = addrs
	srcs := e.Sources[:0]
	for _, s := range e.Sources {
		if !slices.ContainsFunc(srcs, func(t Source) bool { return t.List == s.List && t.ID == s.ID && t.File == s.File }) {
			srcs = append(srcs, s)
		}
	}
	e.Sources = srcs
}

func dedupe(in []string) []string {
	if len(in) < 2 {
		return in
	}
	out := in[:0]
	for _, s := range in {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
