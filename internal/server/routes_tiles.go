package server

import (
	"compress/gzip"
	"net/http"
	"strings"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/ledger"
)

// tileRoutes serve the ledger as a C2SP tlog-tiles log at the server's root,
// so that standard clients (golang.org/x/mod/sumdb/tlog) mirror and verify
// it. The checkpoint and the hash tiles reveal sizes and hashes, never an
// entry, and need no token; entry bundles hold every party's payloads and
// are for the roles that may read every entry (docs/LEDGER.md).
func (s *Server) tileRoutes() []Route {
	svc := s.svc
	return []Route{
		{Method: "GET", Path: "/checkpoint", Public: true, Media: []string{"text/plain"},
			Summary: "The latest checkpoint, signed by the log and cosigned by its witnesses (C2SP tlog-checkpoint, text/plain; no token needed)",
			handle: func(w http.ResponseWriter, r *http.Request, _ domain.Actor) error {
				note, err := svc.CheckpointNote(r.Context())
				if err != nil {
					return err
				}
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				_, err = w.Write(note)
				return err
			}},
		{Method: "GET", Path: "/tile/{path...}", Public: true, Media: []string{"application/octet-stream"},
			Summary: "A hash tile of the published tree, /tile/<L>/<N>[.p/<W>] (C2SP tlog-tiles, application/octet-stream; no token needed: hashes only)",
			handle: func(w http.ResponseWriter, r *http.Request, _ domain.Actor) error {
				ref, err := tilePath(r)
				if err != nil {
					return err
				}
				tile, err := svc.LedgerTile(r.Context(), ref)
				if err != nil {
					return err
				}
				return writeTile(w, r, tile, "public")
			}},
		{Method: "GET", Path: "/tile/entries/{path...}", Media: []string{"application/octet-stream"},
			Summary: "An entry bundle, /tile/entries/<N>[.p/<W>]: the leaf data, payloads included, of up to 256 entries of every party (C2SP tlog-tiles; export authority)",
			handle: func(w http.ResponseWriter, r *http.Request, who domain.Actor) error {
				ref, err := tilePath(r)
				if err != nil {
					return err
				}
				bundle, err := svc.EntryBundle(r.Context(), who, ref)
				if err != nil {
					return err
				}
				return writeTile(w, r, bundle, "private")
			}},
	}
}

// tilePath parses the request's tile path; a malformed one is not found.
func tilePath(r *http.Request) (ledger.TileRef, error) {
	ref, err := ledger.ParseTilePath(strings.TrimPrefix(r.URL.Path, "/"))
	if err != nil {
		return ledger.TileRef{}, domain.Errorf(domain.ENOTFOUND, "no tile at %s: %v", r.URL.Path, err)
	}
	return ref, nil
}

// writeTile writes a tile or bundle. Served tiles never change (the
// published tree covers them), so they may be cached for good; an entry
// bundle only by the client that was allowed to read it. Clients that
// accept gzip get it compressed, as tlog-tiles recommends for bundles.
func writeTile(w http.ResponseWriter, r *http.Request, body []byte, scope string) error {
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Cache-Control", scope+", max-age=31536000, immutable")
	w.Header().Add("Vary", "Accept-Encoding")
	if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") || len(body) < 1024 {
		_, err := w.Write(body)
		return err
	}
	w.Header().Set("Content-Encoding", "gzip")
	zw := gzip.NewWriter(w)
	if _, err := zw.Write(body); err != nil {
		return err
	}
	return zw.Close()
}
