// Package store persists chipgate's state behind one contract, implemented
// for SQLite (embedded, the default) and PostgreSQL (for scale-out).
//
// Every command runs in one transaction (Store.InTx) and appends its audit
// record in that same transaction, so a state change and the record of it
// commit together or not at all. Reads that need no consistency with a write
// run in Store.View, on a separate read-only pool where the backend allows.
//
// Errors: methods return domain errors with codes ENOTFOUND (no such row),
// ECONFLICT (a unique key is taken), EINVALID (a row referred to does not
// exist, or a check fails), EUNAVAILABLE (the database is busy, locked,
// unreachable or closed, or the context ended: retry) and EINTERNAL for
// anything else.
//
// Both backends keep instants to the microsecond, read them back in UTC,
// and order text byte by byte, whatever the database's collation. The
// conformance suite (the package's tests, run by storetest against every
// backend) checks each method group's contract.
package store

import (
	"context"
	"strings"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
)

// Store opens transactions. It is safe for concurrent use.
type Store interface {
	// InTx runs fn in a read-write transaction and commits when fn returns
	// nil; otherwise it rolls back and returns fn's error unchanged. If fn
	// panics, InTx rolls back and panics with the same value. Writers are
	// serialized where the backend requires it: SQLite runs the calls that
	// wait together in one transaction, each in a savepoint of its own, so
	// that a failing one rolls back alone (and fn may run on another
	// goroutine). A call whose ctx ends before fn starts returns
	// EUNAVAILABLE without running fn.
	InTx(ctx context.Context, fn func(Tx) error) error
	// View runs fn in a read-only transaction. A write or a locking read
	// (GetDoc for update, DocFilter.ForUpdate, Volumes) in it is EINTERNAL.
	View(ctx context.Context, fn func(Tx) error) error
	// Principal is Tx.Principal outside any transaction: one statement,
	// which reads one snapshot on its own. Every request authenticates, so
	// it saves the cost of a transaction's begin and end.
	Principal(ctx context.Context, hash []byte) (domain.Token, domain.User, domain.Party, error)
	// TokenEpoch counts token revocations (one statement, outside any
	// transaction), from 0: a principal read after the epoch was n stays
	// valid while the epoch is n. Tx.RevokeToken advances it when it
	// commits.
	TokenEpoch(ctx context.Context) (int64, error)
	// Dialect names the backend: "sqlite" or "postgres".
	Dialect() string
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close releases the database; later transactions and statements are
	// EUNAVAILABLE.
	Close() error
	// Leader runs fn while this process is the one leader named name among
	// the processes sharing the database, and returns fn's error; ok is
	// false, at once and without running fn, when another leads. (On
	// SQLite, one process owns the database and always leads.)
	Leader(ctx context.Context, name string, fn func(ctx context.Context) error) (ok bool, err error)
}

// Tx is one transaction's view of the state. Its methods must not be used
// after the function given to InTx or View returns. A transaction sees its
// own writes. After a method fails on the database (ECONFLICT, EINVALID),
// the function must return an error: PostgreSQL cannot go on with the
// transaction, and on SQLite its earlier writes would commit.
type Tx interface {
	// CreateParty stores a party; ECONFLICT when its slug or id is taken.
	CreateParty(ctx context.Context, p *domain.Party) error
	// Party returns the party with the id, or ENOTFOUND.
	Party(ctx context.Context, id domain.ID) (domain.Party, error)
	// PartyBySlug returns the party with the slug, or ENOTFOUND.
	PartyBySlug(ctx context.Context, slug string) (domain.Party, error)
	// Parties lists every party ordered by slug.
	Parties(ctx context.Context) ([]domain.Party, error)

	// CreateUser stores a user (nil duties as none); ECONFLICT when its id
	// is taken, EINVALID when its party does not exist.
	CreateUser(ctx context.Context, u *domain.User) error
	// User returns the user with the id, or ENOTFOUND.
	User(ctx context.Context, id domain.ID) (domain.User, error)
	// Users lists the users of a party ordered by creation, then id.
	Users(ctx context.Context, partyID domain.ID) ([]domain.User, error)
	// SetUserDuties replaces a user's duties and advances the token epoch,
	// so that no principal cached with the old duties serves again;
	// ENOTFOUND for an unknown user.
	SetUserDuties(ctx context.Context, id domain.ID, ds domain.Duties) error

	// CreateToken stores a token; ECONFLICT when its hash or id is taken,
	// EINVALID when its user does not exist.
	CreateToken(ctx context.Context, t *domain.Token) error
	// Principal returns the token whose secret hashes to hash, with its
	// user and party, or ENOTFOUND.
	Principal(ctx context.Context, hash []byte) (domain.Token, domain.User, domain.Party, error)
	// TokenByHash returns the token whose secret hashes to hash, or ENOTFOUND.
	TokenByHash(ctx context.Context, hash []byte) (domain.Token, error)
	// Token returns the token with the id, or ENOTFOUND.
	Token(ctx context.Context, id domain.ID) (domain.Token, error)
	// TouchToken sets when a session token was last used; ENOTFOUND for
	// an unknown token.
	TouchToken(ctx context.Context, id domain.ID, at time.Time) error
	// Tokens lists a user's tokens, newest first (then by id, descending).
	Tokens(ctx context.Context, userID domain.ID) ([]domain.Token, error)
	// RevokeToken marks the token revoked at the instant and advances the
	// token epoch; a token revoked already keeps its first instant, and
	// the epoch does not move. ENOTFOUND if absent.
	RevokeToken(ctx context.Context, id domain.ID, at time.Time) error

	// PutIdentityProvider stores a party's identity provider, replacing
	// the one it had; EINVALID when the party does not exist.
	PutIdentityProvider(ctx context.Context, p *domain.IdentityProvider) error
	// IdentityProvider returns a party's identity provider with its client
	// secret, or ENOTFOUND.
	IdentityProvider(ctx context.Context, partyID domain.ID) (domain.IdentityProvider, error)
	// CreateIdentityMapping stores a mapping; ECONFLICT when the party
	// maps that subject or group already, EINVALID when the party or the
	// user does not exist.
	CreateIdentityMapping(ctx context.Context, m *domain.IdentityMapping) error
	// IdentityMappings lists a party's mappings, oldest first (then by id).
	IdentityMappings(ctx context.Context, partyID domain.ID) ([]domain.IdentityMapping, error)
	// DeleteIdentityMapping removes a party's mapping; ENOTFOUND when the
	// party has no mapping with the id.
	DeleteIdentityMapping(ctx context.Context, partyID, id domain.ID) error
	// CreatePendingSignIn stores a sign-in started with an identity
	// provider (and drops those expired for an hour).
	CreatePendingSignIn(ctx context.Context, p *domain.PendingSignIn) error
	// TakePendingSignIn removes and returns the pending sign-in of a
	// state's hash: once only, and only before it expires (ENOTFOUND
	// otherwise, when it is removed as well).
	TakePendingSignIn(ctx context.Context, stateHash []byte, now time.Time) (domain.PendingSignIn, error)

	// CreateProduct stores a product; ECONFLICT when its slug or id is taken.
	CreateProduct(ctx context.Context, p *domain.Product) error
	// Product returns the product with the id, or ENOTFOUND.
	Product(ctx context.Context, id domain.ID) (domain.Product, error)
	// ProductBySlug returns the product with the slug, or ENOTFOUND.
	ProductBySlug(ctx context.Context, slug string) (domain.Product, error)
	// Products lists the catalog ordered by launch date, then slug.
	Products(ctx context.Context) ([]domain.Product, error)

	// CreateLot stores a lot with nothing shipped; ECONFLICT when its
	// product has a lot of its number (or its id is taken), EINVALID when
	// the product does not exist or the quantity is below 1.
	CreateLot(ctx context.Context, l *domain.Lot) error
	// ShipFromLot takes units out of a lot; ECONFLICT, taking none, when it
	// has fewer left; ENOTFOUND when there is no such lot. Concurrent draws
	// never take more than the lot holds.
	ShipFromLot(ctx context.Context, lot domain.ID, units int64) error
	// Lots lists the lots of a product (all products for the zero ID)
	// ordered by availability, then number.
	Lots(ctx context.Context, productID domain.ID) ([]domain.Lot, error)

	// AppendAudit assigns rec the next index of the audit record and writes
	// it. The index is gapless and in commit order: the call holds the log's
	// head until the transaction ends.
	AppendAudit(ctx context.Context, rec *domain.AuditRecord) error
	// AuditSize returns the number of audit records committed (and, to
	// the transaction, those it appended).
	AuditSize(ctx context.Context) (int64, error)
	// AuditRecords returns the records with from <= index < to, in order;
	// none when the range is empty.
	AuditRecords(ctx context.Context, from, to int64) ([]domain.AuditRecord, error)

	// PutDoc inserts (create) or replaces a document. Replacing changes its
	// ref, status, update time and body, and keeps its party and creation
	// time. ECONFLICT when an inserted id exists, ENOTFOUND when a replaced
	// one does not, EINVALID when the party does not exist.
	PutDoc(ctx context.Context, kind Kind, d Doc, create bool) error
	// GetDoc reads a document, or ENOTFOUND, locking its row until the
	// transaction ends when forUpdate is set (so read-modify-write commands
	// serialize).
	GetDoc(ctx context.Context, kind Kind, id domain.ID, forUpdate bool) (Doc, error)
	// ListDocs lists the documents f selects, oldest first (then by id) or
	// newest first (f.Desc), after f.After, at most f.Limit (all when not
	// positive).
	ListDocs(ctx context.Context, kind Kind, f DocFilter) ([]Doc, error)

	// Volumes returns a counter's units of the product per destination
	// region (accepted orders, or units exported): every region counted
	// for the product, and the regions asked for, created at zero. It locks
	// the product's rows until the transaction ends, so that a cap checked
	// against them holds until the command commits.
	Volumes(ctx context.Context, c Counter, product string, regions []string) (map[string]int64, error)
	// ReadVolumes returns a counter's units of the product per region as
	// committed, without locking or creating rows: for readers (it works
	// in a View).
	ReadVolumes(ctx context.Context, c Counter, product string) (map[string]int64, error)
	// AddVolume adds delta units to the product's region (after Volumes,
	// for the lock), creating the region's row when Volumes did not.
	AddVolume(ctx context.Context, c Counter, product, region string, delta int64) error
	// ClaimSerials records that the serials travel in the shipment;
	// ECONFLICT naming a serial already shipped or listed twice (the
	// serials before it are claimed: return the error to roll back).
	ClaimSerials(ctx context.Context, shipment domain.ID, serials []string) error
	// SerialShipment returns the shipment a serial travelled in, or ENOTFOUND.
	SerialShipment(ctx context.Context, serial string) (domain.ID, error)
	// AddCheckIn stores a device check-in; ECONFLICT when its id is taken.
	// LastCheckIn returns the newest one of a serial by its instant (then
	// by id), or ENOTFOUND.
	AddCheckIn(ctx context.Context, id domain.ID, serial string, at time.Time, doc []byte) error
	LastCheckIn(ctx context.Context, serial string) ([]byte, error)
	// AddDeviceKey records the device key the lab recorded for a serial of
	// the shipment; ECONFLICT when the serial has one or the key is
	// another serial's. AddChallenge stores a check-in challenge;
	// UseChallenge marks it used and says whether this use was its first
	// (ENOTFOUND for a nonce never issued); DeleteChallengesBefore forgets
	// those expired before a cutoff. AddAttestedCheckIn stores a check-in
	// under the device key that signed it; LastAttestedCheckIn returns the
	// key's newest, or ENOTFOUND.
	AddDeviceKey(ctx context.Context, serial, key string, shipment domain.ID) error
	AddChallenge(ctx context.Context, c Challenge) error
	UseChallenge(ctx context.Context, nonce string, at time.Time) (c Challenge, fresh bool, err error)
	DeleteChallengesBefore(ctx context.Context, cutoff time.Time) (int64, error)
	AddAttestedCheckIn(ctx context.Context, id domain.ID, serial, key string, at time.Time, doc []byte) error
	LastAttestedCheckIn(ctx context.Context, key string) ([]byte, error)
	// NameShipmentParty records that a shipment names a carrier or lab
	// party (again: a no-op); PartyShipments returns the ids of the
	// shipments that name a party, in id order.
	NameShipmentParty(ctx context.Context, shipment, party domain.ID) error
	PartyShipments(ctx context.Context, party domain.ID) ([]domain.ID, error)
	// AddScreeningLog appends screening log entries to the log's hash
	// chain, setting each entry's Seq and Hash (append-only; ECONFLICT
	// when an id is taken); ScreeningLog reads up to limit entries' documents
	// older than before (all when before is zero), newest first (by
	// instant, then id). ScreeningLogHead reads the chain's head (locked
	// when forUpdate), SealScreeningLog notes the seq last sealed into the
	// ledger, ScanScreeningLog reads every entry (unchained first, then the
	// chain in seq order).
	AddScreeningLog(ctx context.Context, entries []ScreeningLogRow, link ChainLink) error
	ScreeningLog(ctx context.Context, before time.Time, limit int) ([][]byte, error)
	ScreeningLogHead(ctx context.Context, forUpdate bool) (ScreeningLogHead, error)
	SealScreeningLog(ctx context.Context, seq int64) error
	ScanScreeningLog(ctx context.Context, fn func(ScreeningLogRow) error) error

	// ReadTiles returns the ledger tiles' hashes for keys, one entry per
	// key in the keys' order, nil for a tile never written; WriteTiles
	// upserts tiles. Both in the transaction that appends the records, so
	// the tree and the records never disagree.
	ReadTiles(ctx context.Context, keys []TileKey) ([][]byte, error)
	WriteTiles(ctx context.Context, tiles []TileBlob) error
	// AddCheckpoint stores a signed checkpoint; ECONFLICT if one of its size exists.
	AddCheckpoint(ctx context.Context, c StoredCheckpoint) error
	// ReplaceCheckpoint replaces the note of the stored checkpoint of c's
	// size and root (the same checkpoint with more cosignatures);
	// ENOTFOUND if there is none.
	ReplaceCheckpoint(ctx context.Context, c StoredCheckpoint) error
	// Checkpoints lists every signed checkpoint by size.
	Checkpoints(ctx context.Context) ([]StoredCheckpoint, error)
	// LatestCheckpoint returns the largest checkpoint, or ENOTFOUND.
	LatestCheckpoint(ctx context.Context) (StoredCheckpoint, error)
	// LedgerMeta reads a ledger setting (ENOTFOUND when unset); SetLedgerMeta
	// writes one, replacing its value.
	LedgerMeta(ctx context.Context, name string) (string, error)
	SetLedgerMeta(ctx context.Context, name, value string) error

	// ClaimIdempotency records that party's request with key and hash is in
	// flight since at and returns nil, or returns the earlier request's
	// record when the party used the key before. Concurrent claims of a key
	// get nil once.
	ClaimIdempotency(ctx context.Context, party domain.ID, key string, hash []byte, at time.Time) (*Idempotent, error)
	// TakeOverIdempotency moves an abandoned in-flight claim (made at
	// claimedAt, its command never committed) to a new claim made at at;
	// false when the claim changed meanwhile. The first claimant's command
	// can then no longer commit (see WithIdempotencyClaim).
	TakeOverIdempotency(ctx context.Context, party domain.ID, key string, claimedAt, at time.Time) (bool, error)
	// CompleteIdempotency stores the response of the request with key,
	// unless its claim made at claimedAt was taken over or completed.
	CompleteIdempotency(ctx context.Context, party domain.ID, key string, claimedAt time.Time, status int, response []byte) error
	// ReleaseIdempotency forgets an in-flight key whose request failed in a
	// way worth retrying (and whose command did not commit), so that a
	// retry runs again; a claim taken over, committed or completed stays.
	ReleaseIdempotency(ctx context.Context, party domain.ID, key string, claimedAt time.Time) error

	// CreateWebhook stores a subscription (ECONFLICT: id taken; EINVALID:
	// no such party); Webhook reads one (ENOTFOUND); Webhooks lists a
	// party's, every party's for the zero ID, in id order; DeleteWebhook
	// deletes one with its dead letters (ENOTFOUND).
	CreateWebhook(ctx context.Context, w *Webhook) error
	Webhook(ctx context.Context, id domain.ID) (Webhook, error)
	Webhooks(ctx context.Context, party domain.ID) ([]Webhook, error)
	DeleteWebhook(ctx context.Context, id domain.ID) error
	// AdvanceWebhook sets a subscription's delivery state unless a replay
	// or a deletion changed its epoch meanwhile (false then).
	AdvanceWebhook(ctx context.Context, id domain.ID, epoch int64, p WebhookProgress) (bool, error)
	// AddDeadLetter records an event given up on (replacing an earlier
	// letter of the same event); DeadLetters lists them by ledger index.
	AddDeadLetter(ctx context.Context, subscription domain.ID, d DeadLetter) error
	DeadLetters(ctx context.Context, subscription domain.ID) ([]DeadLetter, error)
	// ReplayWebhook rewinds a subscription to ledger index from: cursor,
	// checkpoint cursor at most from, failures cleared, dead letters from
	// that index on forgotten, epoch advanced. ENOTFOUND if absent.
	ReplayWebhook(ctx context.Context, id domain.ID, from int64) error

	// StateTx binds state rows to the ledger records that changed them.
	StateTx
}

// Open opens the store named by dsn: a postgres:// or postgresql:// URL, or
// else the path of a SQLite file (created if missing). It does not migrate;
// call Migrate.
func Open(ctx context.Context, dsn string) (Store, error) {
	if IsPostgres(dsn) {
		return openPostgres(ctx, dsn)
	}
	return openSQLite(ctx, dsn)
}

// IsPostgres reports whether dsn names a PostgreSQL database.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}
