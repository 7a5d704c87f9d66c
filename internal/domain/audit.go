package domain

import "time"

// AuditRecord is one entry of the append-only record of state changes. It is
// written in the same transaction as the change it describes, so the record
// and the state never disagree. Index numbers records from 0 in commit order
// with no gaps; the ledger makes each record a leaf of a Merkle tree at that
// index.
type AuditRecord struct {
	Index int64     `json:"index"`
	ID    ID        `json:"id"`
	At    time.Time `json:"at"`
	// The actor: user, party and role at the time of the change.
	ActorUser  string `json:"actor_user"`
	ActorParty string `json:"actor_party"`
	ActorRole  string `json:"actor_role"`
	// Action names the change, "party.created" or "token.revoked".
	Action string `json:"action"`
	// SubjectType and SubjectID name what changed.
	SubjectType string `json:"subject_type"`
	SubjectID   string `json:"subject_id"`
	// Payload is the canonical JSON of the new state (see CanonicalJSON).
	Payload []byte `json:"payload"`
}
