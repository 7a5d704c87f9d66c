package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The log's tree and entries are served as C2SP tlog-tiles resources:
//
//	tile/<L>/<N>[.p/<W>]         hashes of tile level L, index N, width W
//	tile/entries/<N>[.p/<W>]     the leaf data of the same entries as tile 0/N
//
// N is written in groups of three digits, all but the last prefixed with
// "x" (1234067 is x001/x234/067); the .p/<W> suffix names a partial tile of
// W (1 to 255) hashes or entries. A full tile has TileWidth. The Go checksum
// database's layout (golang.org/x/mod/sumdb/tlog) is the same with the tile
// height in the path ("tile/8/<L>/<N>") and "data" for "entries".

// TileRef names a tile resource: a hash tile (Entries false) or an entry
// bundle (Entries true, Level 0), of Width hashes or entries.
type TileRef struct {
	Level   uint8
	Index   uint64
	Width   int // 1 to TileWidth; TileWidth is a full tile
	Entries bool
}

// Path returns the resource's tlog-tiles path, without a leading slash.
func (t TileRef) Path() string {
	var b strings.Builder
	b.WriteString("tile/")
	if t.Entries {
		b.WriteString("entries/")
	} else {
		b.WriteString(strconv.Itoa(int(t.Level)))
		b.WriteByte('/')
	}
	b.WriteString(tileIndexPath(t.Index))
	if t.Width < TileWidth {
		b.WriteString(".p/")
		b.WriteString(strconv.Itoa(t.Width))
	}
	return b.String()
}

func tileIndexPath(n uint64) string {
	s := fmt.Sprintf("%03d", n%1000)
	for n >= 1000 {
		n /= 1000
		s = fmt.Sprintf("x%03d/%s", n%1000, s)
	}
	return s
}

// Start returns the index of the first entry the tile covers.
func (t TileRef) Start() uint64 { return t.Index << (TileHeight * (uint(t.Level) + 1)) }

// End returns the tree size the tile's content requires: entries up to it
// (exclusive) determine its Width hashes. A log serves a tile only once it
// has published a checkpoint at least that large.
func (t TileRef) End() uint64 {
	return (t.Index*TileWidth + uint64(t.Width)) << (TileHeight * uint(t.Level))
}

// ParseTilePath parses a tlog-tiles path (without a leading slash), strictly:
// no leading zeroes beyond the three-digit groups, a level of 0 to 7, a
// width of 1 to 255, and only tiles of trees whose size fits a uint64.
func ParseTilePath(p string) (TileRef, error) {
	bad := func(why string) (TileRef, error) {
		return TileRef{}, fmt.Errorf("ledger: tile path %q: %s", p, why)
	}
	rest, ok := strings.CutPrefix(p, "tile/")
	if !ok {
		return bad("not under tile/")
	}
	var ref TileRef
	if r, ok := strings.CutPrefix(rest, "entries/"); ok {
		ref.Entries, rest = true, r
	} else {
		l, r, ok := strings.Cut(rest, "/")
		level, err := strconv.Atoi(l)
		if !ok || err != nil || level < 0 || level >= maxTileLevels || strconv.Itoa(level) != l {
			return bad("the level must be 0 to 7 without leading zeroes")
		}
		ref.Level, rest = uint8(level), r
	}
	ref.Width = TileWidth
	if i := strings.Index(rest, ".p/"); i >= 0 {
		w, err := strconv.Atoi(rest[i+3:])
		if err != nil || w < 1 || w >= TileWidth || strconv.Itoa(w) != rest[i+3:] {
			return bad("a partial tile's width must be 1 to 255")
		}
		ref.Width, rest = w, rest[:i]
	}
	groups := strings.Split(rest, "/")
	for i, g := range groups {
		last := i == len(groups)-1
		if !last {
			if !strings.HasPrefix(g, "x") {
				return bad("every index group but the last starts with x")
			}
			g = g[1:]
		}
		d, err := strconv.ParseUint(g, 10, 64)
		if len(g) != 3 || err != nil || (i == 0 && !last && d == 0) {
			return bad("the index must be groups of three digits")
		}
		if ref.Index > (1<<64-1-d)/1000 {
			return bad("the index overflows")
		}
		ref.Index = ref.Index*1000 + d
	}
	// The tile exists only if the tree size it needs (End) fits a uint64.
	limit := uint64(1<<64-1) >> (TileHeight * uint(ref.Level))
	if uint64(ref.Width) > limit || ref.Index > (limit-uint64(ref.Width))/TileWidth {
		return bad("no tree has this tile")
	}
	return ref, nil
}

// MaxBundleEntry is the largest leaf an entry bundle can carry: tlog-tiles
// prefixes each entry with a 16-bit length.
const MaxBundleEntry = 1<<16 - 1

// AppendBundleEntry appends one entry (its leaf data) to an entry bundle:
// a big-endian 16-bit length, then the bytes. It refuses an entry longer
// than MaxBundleEntry.
func AppendBundleEntry(bundle, leaf []byte) ([]byte, error) {
	if len(leaf) > MaxBundleEntry {
		return nil, fmt.Errorf("ledger: an entry of %d bytes does not fit an entry bundle (at most %d)", len(leaf), MaxBundleEntry)
	}
	bundle = binary.BigEndian.AppendUint16(bundle, uint16(len(leaf)))
	return append(bundle, leaf...), nil
}

// ParseEntryBundle splits an entry bundle into its entries' leaf data (the
// slices share bundle's memory).
func ParseEntryBundle(bundle []byte) ([][]byte, error) {
	var out [][]byte
	for len(bundle) > 0 {
		if len(bundle) < 2 {
			return nil, errors.New("ledger: entry bundle: a truncated length")
		}
		n := int(binary.BigEndian.Uint16(bundle))
		if len(bundle) < 2+n {
			return nil, fmt.Errorf("ledger: entry bundle: entry %d is truncated", len(out))
		}
		out = append(out, bundle[2:2+n])
		bundle = bundle[2+n:]
	}
	return out, nil
}
