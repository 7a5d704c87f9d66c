// Package screening screens names against restricted-party lists: it parses
// the official list files, folds repeated entries into one entity per party,
// normalizes names, and answers fuzzy name queries from an in-memory index.
//
// The package is pure: no database, no HTTP, no clock, no package-level
// mutable state. Reading files happens only in LoadDir/LoadFS; everything
// else takes values and returns values.
//
// # Loading
//
//	ds, err := screening.LoadDir(dir)      // every list file anywhere under dir
//	ds.Entities                            // []Entity, folded across files and lists
//	ds.Report                              // per file: format, records, skipped lines, errors; unrecognized files
//
// Recognized formats: OFAC legacy CSV (sdn.csv or cons_prim.csv with add,
// alt and comments files beside it), OFAC enhanced XML (plain or zipped),
// the US Consolidated Screening List CSV (plain or gzip), the BIS Denied
// Persons List text file and the UN consolidated XML. Files are recognized by
// content as well as by name. A damaged record is skipped and reported with
// its line (Skip); a file that cannot be read at all is reported in its
// FileReport.Error; LoadDir fails (EINVALID) only when nothing was loaded.
// The individual parsers (ParseOFACLegacy, ParseOFACEnhancedZip,
// ParseOFACEnhancedXML, ParseCSL, ParseDPL, ParseUN) and Fold are exported
// for callers that get bytes from elsewhere (a download, an embedded file:
// see package fallback).
//
// # Entities
//
// An Entity has a stable Key ("ofac:<ent_num>", "UN:<reference>", or list
// and name for lists without ids), a Type, the primary Name and Aliases,
// Addresses, ISO Countries, Programs, Dates, Remarks and every Source (list
// code such as SDN, EL, DPL, MEU, UVL, UN, with the list's own id). The same
// OFAC number in any file and format is one entity; organizations with the
// very same name on several lists are one entity. Fingerprint changes only
// when the listing changes, so a review decision can be stored with Key and
// Fingerprint and kept across reloads.
//
// # Searching
//
//	ix := screening.NewIndex(ds.Entities)  // immutable once built
//	hits, err := ix.Search(screening.Query{Name: "华为技术有限公司", Country: "CN"})
//	hits[0].Entity.PrimarySource().List    // "EL"
//	hits[0].Score, hits[0].Matched, hits[0].Tokens, hits[0].Evidence
//
// Search returns hits at or above Query.MinScore (DefaultMinScore when 0),
// best first, at most Query.Limit (DefaultLimit when 0). An empty or absurd
// query (no letters or digits, longer than MaxQueryBytes or MaxQueryTokens
// words, invalid UTF-8, limits out of range) returns an EINVALID
// *domain.Error whose message can be shown to the user.
//
// An Index is read-only after NewIndex and safe for any number of concurrent
// searches. To reload lists, build a new Index off to the side and publish
// it with an atomic.Pointer[screening.Index] swap; searches in flight keep
// the old one, and no request ever sees half of a reload.
//
// # How names are compared
//
// A name is read as a screen shows it, so disguises do not hide it:
// invisible characters (zero-width space and joiners, word joiner, BOM,
// soft hyphen …) and bidi controls are dropped, a right-to-left override
// is also read in its displayed order (Readings), fullwidth and
// mathematical letters become ASCII (the compatibility decomposition of
// NFKC), look-alike letters of other scripts mixed into Latin words are
// read as the Latin letters they imitate (a table from Unicode TR39's
// confusables), and traditional Chinese becomes simplified (OpenCC's
// table, data/TSCharacters.txt). Evasions reports which disguises a name
// used, for the service to flag.
//
// Normalizer folds Unicode (NFKD, diacritics dropped, ß → ss, Cyrillic
// romanized), turns Chinese script into English business words and pinyin
// (华为技术有限公司 → "huawei technology"), reads "SURNAME, Given" in either
// order, removes legal forms (Co., Ltd., LLC, GmbH, JSC, OOO, 有限公司 …;
// a table in legalforms.go) and list noise ("and any successor …",
// "Affiliated Entity:", trailing short forms which become aliases).
// Candidates come from a token index; misspelled tokens are found through a
// one-edit deletion neighbourhood and, for long words, character trigrams,
// so a wrong first letter does not hide a match. The scorer aligns query
// and listed tokens one to one (Jaro-Winkler tempered by edit distance) and
// weighs every word by how rare it is, so unmatched telling words on either
// side lower the score. Words split or joined where the lists do not
// ("Hua wei", "HuaweiTechnologies") are found through joined and split
// lookups and aligned as one. See docs/SCREENING.md for the design and
// docs/BENCHMARKS.md for accuracy and speed.
//
// # Ownership
//
// InheritedListings applies the 50 percent rule (OFAC) / affiliates rule
// (BIS): parties owned at or above a threshold, in aggregate and through
// chains, by listed parties inherit the listing. The threshold is policy
// data passed by the caller.
package screening
