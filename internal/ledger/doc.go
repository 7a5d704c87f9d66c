// Package ledger is the mathematics of chipgate's tamper-evident log: every
// domain.AuditRecord becomes a leaf of an RFC 6962 Merkle tree at its Index,
// the log signs checkpoints (origin, size, root) in the C2SP tlog-checkpoint
// note format, and anyone holding records, checkpoints and the verifier key
// can check inclusion, consistency and the absence of forks on their own.
//
// The package is pure: it reads no clock, opens no database and serves no
// HTTP. The tree's node hashes live behind TileStore, a two-method storage
// interface the store package implements over SQL inside each command's
// transaction; MemoryTiles is the in-memory implementation and test fake, and
// package ledgertest is the conformance suite every implementation runs.
//
// The pieces, one file each:
//   - leaf.go: the canonical leaf encoding of an audit record and its hash.
//   - tile.go, tree.go: tiles of node hashes, incremental append, roots,
//     inclusion and consistency proofs.
//   - proof.go: proof verification and the proofs' JSON form for the API.
//   - checkpoint.go: keys, signed checkpoints, the guard that never signs
//     two inconsistent checkpoints, fork and split-view evidence.
//   - cosign.go: witnesses' cosignatures (C2SP cosignature/v1).
//   - tilepath.go: the tlog-tiles resource paths and entry bundles.
//   - notefile.go: a signed note kept in a file, atomically (the signer's
//     and a witness's memory of their latest checkpoint).
//   - verify.go: recomputing a whole log from its records and checking it
//     against stored tiles and signed checkpoints, naming the first bad index.
//   - export.go: the export directory and Audit, the offline check of it,
//     with the checkpoints and witness keys an auditor brings.
//
// Package ledgerlog runs the log on top of this one (integration, the
// signer, cosignatures, serving tiles), and package witness is a witness.
//
// docs/LEDGER.md documents the formats for people who verify the log with
// their own tools.
package ledger
