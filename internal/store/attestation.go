package store

import (
	"context"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
)

// Challenge is a single-use nonce issued for a serial's attested check-in.
type Challenge struct {
	Nonce     string // standard base64
	Serial    string
	IssuedAt  time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// AddDeviceKey records the device key of a serial shipped in the shipment;
// ECONFLICT when the serial has a key already or the key is another
// serial's, EINVALID for a serial that was never shipped.
func (t *tx) AddDeviceKey(ctx context.Context, serial, key string, shipment domain.ID) error {
	_, err := t.exec(ctx, "add device key", "INSERT INTO device_keys (serial, public_key, shipment_id) VALUES (?, ?, ?)", serial, key, shipment)
	if domain.ErrorCode(err) == domain.ECONFLICT {
		return domain.Errorf(domain.ECONFLICT, "serial %q has a device key already, or its key is another serial's", serial)
	}
	return err
}

// AddChallenge stores a challenge; ECONFLICT when its nonce exists.
func (t *tx) AddChallenge(ctx context.Context, c Challenge) error {
	_, err := t.exec(ctx, "add challenge", "INSERT INTO checkin_challenges (nonce, serial, issued_at, expires_at) VALUES (?, ?, ?, ?)",
		c.Nonce, c.Serial, t.time(c.IssuedAt), t.time(c.ExpiresAt))
	return err
}

// UseChallenge marks a challenge used at at and returns it, with fresh
// true when this use was its first (a conditional UPDATE: of two concurrent
// uses exactly one is first). ENOTFOUND for a nonce never issued.
func (t *tx) UseChallenge(ctx context.Context, nonce string, at time.Time) (c Challenge, fresh bool, err error) {
	res, err := t.exec(ctx, "use challenge", "UPDATE checkin_challenges SET used_at = ? WHERE nonce = ? AND used_at IS NULL", t.time(at), nonce)
	if err != nil {
		return c, false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return c, false, t.s.wrap("use challenge", err)
	}
	c.Nonce = nonce
	var issued, expires, used dbTime
	err = t.queryRow(ctx, "SELECT serial, issued_at, expires_at, used_at FROM checkin_challenges WHERE nonce = ?", nonce).Scan(&c.Serial, &issued, &expires, &used)
	if err != nil {
		return c, false, t.notFound(err, "no such challenge")
	}
	c.IssuedAt, c.ExpiresAt, c.UsedAt = issued.T, expires.T, used.ptr()
	return c, n == 1, nil
}

// DeleteChallengesBefore forgets challenges that expired before cutoff;
// their nonces stay in the ledger records of the check-ins that used them.
func (t *tx) DeleteChallengesBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := t.exec(ctx, "expire challenges", "DELETE FROM checkin_challenges WHERE expires_at < ?", t.time(cutoff))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// AddAttestedCheckIn stores a check-in made with signed evidence, under
// the device key that signed it.
func (t *tx) AddAttestedCheckIn(ctx context.Context, id domain.ID, serial, key string, at time.Time, doc []byte) error {
	_, err := t.exec(ctx, "add checkin", "INSERT INTO checkins (id, serial, at, doc, device_key) VALUES (?, ?, ?, ?, ?)", id, serial, t.time(at), doc, key)
	return err
}

// LastAttestedCheckIn returns the newest check-in signed with the device
// key, or ENOTFOUND.
func (t *tx) LastAttestedCheckIn(ctx context.Context, key string) ([]byte, error) {
	var doc []byte
	err := t.queryRow(ctx, "SELECT doc FROM checkins WHERE device_key = ? ORDER BY at DESC, id DESC LIMIT 1", key).Scan(&doc)
	return doc, t.notFound(err, "device key never checked in")
}
