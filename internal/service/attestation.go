package service

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/chipgate/chipgate/internal/attest"
	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/policy"
	"github.com/chipgate/chipgate/internal/store"
)

// ChallengeRequest asks for a nonce to check a serial in with.
type ChallengeRequest struct {
	Serial string `json:"serial"`
}

// Challenge is a fresh single-use nonce for one serial's attested check-in.
type Challenge struct {
	Serial    string    `json:"serial"`
	Nonce     []byte    `json:"nonce"`
	ExpiresAt time.Time `json:"expires_at"`
}

// AttestedCheckInRequest is a device's signed evidence (package attest).
type AttestedCheckInRequest struct {
	Evidence attest.Evidence `json:"evidence"`
}

// IssueChallenge issues a fresh single-use nonce for a serial's attested
// check-in, valid for the attestation rule's challenge_ttl_seconds.
// Callers: the buyer that owns the device, and the vendor's telemetry
// service; EFORBIDDEN for other roles, ENOTFOUND for a buyer's serial not
// shipped to it. Returns EINVALID naming serial; ECONFLICT when no
// attestation rule is in force.
func (s *Service) IssueChallenge(ctx context.Context, who domain.Actor, in ChallengeRequest) (Challenge, error) {
	if err := authorizeWork(who, ActCheckIn, routineWork); err != nil {
		return Challenge{}, err
	}
	if !serialRe.MatchString(in.Serial) {
		return Challenge{}, domain.Invalid("serial", "must be 1-64 letters, digits or dashes")
	}
	rules, err := s.rulesNow()
	if err != nil {
		return Challenge{}, err
	}
	att, ok := rules.Attestation()
	if !ok {
		return Challenge{}, domain.Errorf(domain.ECONFLICT, "no attestation rule is in force")
	}
	nonce := make([]byte, attest.NonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return Challenge{}, err
	}
	now := s.Now()
	c := Challenge{Serial: in.Serial, Nonce: nonce, ExpiresAt: now.Add(time.Duration(att.ChallengeTTLSeconds) * time.Second)}
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		if who.Role == domain.RoleBuyer {
			if _, err := ownShipment(ctx, tx, who, in.Serial); err != nil {
				return err
			}
		}
		// Challenges expired a day ago are of no more use to anyone.
		if _, err := tx.DeleteChallengesBefore(ctx, now.Add(-24*time.Hour)); err != nil {
			return err
		}
		return tx.AddChallenge(ctx, store.Challenge{Nonce: base64.StdEncoding.EncodeToString(nonce), Serial: in.Serial, IssuedAt: now, ExpiresAt: c.ExpiresAt})
	})
	return c, err
}

// ownShipment returns the shipment of a serial shipped to the buyer, or
// ENOTFOUND (nothing said about another's serial).
func ownShipment(ctx context.Context, tx store.Tx, who domain.Actor, serial string) (*domain.Shipment, error) {
	id, err := tx.SerialShipment(ctx, serial)
	if err != nil {
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			return nil, domain.Errorf(domain.ENOTFOUND, "serial not found")
		}
		return nil, err
	}
	sh, err := store.Get[domain.Shipment](ctx, tx, store.KindShipment, id, false)
	if err != nil {
		return nil, err
	}
	if who.Role == domain.RoleBuyer && sh.BuyerID != who.PartyID {
		return nil, domain.Errorf(domain.ENOTFOUND, "serial not found")
	}
	return &sh, nil
}

// AttestedCheckIn takes a device's signed evidence: it checks the
// signatures (attest.Verify, with the landmarks' keys from the policy),
// uses up the challenge, and has the policy assess the result
// (policy.Rules.AssessAttestedCheckIn) against the key the lab recorded,
// the licensed site and the key's last attested check-in; the check-in
// (with its evidence, as submitted) and an alert per finding commit
// together, each alert naming who reported it. Callers: the buyer that owns
// the device and the vendor's telemetry service; EFORBIDDEN for other
// roles, ENOTFOUND for a buyer's serial not shipped to it, before anything
// is said or written. Returns EINVALID naming evidence.… for malformed
// evidence; ECONFLICT when no attestation rule is in force.
func (s *Service) AttestedCheckIn(ctx context.Context, who domain.Actor, in AttestedCheckInRequest) (domain.CheckIn, []domain.Alert, error) {
	if err := authorizeWork(who, ActCheckIn, routineWork); err != nil {
		return domain.CheckIn{}, nil, err
	}
	ev := in.Evidence
	switch {
	case !serialRe.MatchString(ev.Serial):
		return domain.CheckIn{}, nil, domain.Invalid("evidence.serial", "must be 1-64 letters, digits or dashes")
	case len(ev.Nonce) != attest.NonceSize:
		return domain.CheckIn{}, nil, domain.Invalid("evidence.nonce", "must be %d bytes", attest.NonceSize)
	case len(ev.DeviceKey) != 32:
		return domain.CheckIn{}, nil, domain.Invalid("evidence.device_key", "must be an Ed25519 public key")
	case len(ev.Receipts) == 0 || len(ev.Receipts) > 50:
		return domain.CheckIn{}, nil, domain.Invalid("evidence.receipts", "1 to 50 landmark receipts")
	}
	rules, err := s.rulesNow()
	if err != nil {
		return domain.CheckIn{}, nil, err
	}
	if _, ok := rules.Attestation(); !ok {
		return domain.CheckIn{}, nil, domain.Errorf(domain.ECONFLICT, "no attestation rule is in force")
	}
	raw, err := json.Marshal(ev)
	if err != nil {
		return domain.CheckIn{}, nil, err
	}
	// The signatures are checked before the transaction: they need no
	// state, and the writer should not wait for them.
	res := attest.Verify(ev, rules.LandmarkKey)
	key := attest.EncodeKey(ev.DeviceKey)
	now := s.Now()
	c := domain.CheckIn{ID: newID(), At: now, By: who.PartySlug, Role: who.Role, Serial: ev.Serial, DeviceKey: key, Evidence: raw}
	for _, r := range res.Receipts {
		c.Timings = append(c.Timings, domain.LandmarkTiming(r))
	}
	var alerts []domain.Alert
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		f := policy.AttestedCheckInFacts{At: now, Serial: ev.Serial, Reporter: who.PartySlug, EvidenceKey: key,
			DeviceSignatureValid: res.DeviceSignatureValid, Timings: c.Timings}
		sh, err := ownShipment(ctx, tx, who, ev.Serial)
		if err != nil && (who.Role == domain.RoleBuyer || domain.ErrorCode(err) != domain.ENOTFOUND) {
			return err
		}
		if sh != nil {
			f.Shipped, f.ShipmentNumber, f.Buyer, f.Where, f.Destination = true, sh.Number, sh.Buyer, sh.Route[sh.Leg], sh.Destination
			f.Delivered = sh.Status == domain.ShipDelivered
			if sh.Test != nil {
				f.RegisteredKey = sh.Test.DeviceKeys[ev.Serial]
			}
			app, found, err := customerApplication(ctx, tx, sh.BuyerID)
			if err != nil {
				return err
			}
			if found && sh.Site < len(app.Sites) && app.Sites[sh.Site].Lat != nil {
				site := app.Sites[sh.Site]
				f.SiteLat, f.SiteLon, f.SiteAddress = site.Lat, site.Lon, site.Address
			}
		}
		ch, fresh, err := tx.UseChallenge(ctx, base64.StdEncoding.EncodeToString(ev.Nonce), now)
		switch {
		case err == nil:
			f.Challenge = policy.ChallengeState{Known: true, Serial: ch.Serial, IssuedAt: ch.IssuedAt, ExpiresAt: ch.ExpiresAt, UsedBefore: !fresh}
		case domain.ErrorCode(err) != domain.ENOTFOUND:
			return err
		}
		if prev, err := tx.LastAttestedCheckIn(ctx, key); err == nil {
			var p domain.CheckIn
			if json.Unmarshal(prev, &p) == nil {
				f.Previous = &policy.AttestedPlace{At: p.At, Serial: p.Serial, Timings: p.Timings}
			}
		} else if domain.ErrorCode(err) != domain.ENOTFOUND {
			return err
		}
		// Only evidence whose identity and freshness hold places its key:
		// a replay or a stranger's key must not become the baseline the
		// key's next check-in is compared with.
		trusted := true
		for _, fd := range rules.AssessAttestedCheckIn(f) {
			switch fd.Kind {
			case "unknown_device_key", "bad_device_signature", "replayed_nonce", "stale_challenge":
				trusted = false
			}
			a := domain.Alert{ID: newID(), Kind: fd.Kind, Serial: ev.Serial, ReportedBy: who.PartySlug, ReporterRole: who.Role, CheckInID: &c.ID,
				Evidence: []string{fd.Reason.Message}, Reasons: []domain.Reason{fd.Reason}, State: domain.AlertOpen, CreatedAt: now, UpdatedAt: now}
			if sh != nil {
				a.ShipmentID, a.Buyer = &sh.ID, sh.Buyer
			}
			alerts = append(alerts, a)
		}
		body, err := json.Marshal(c)
		if err != nil {
			return err
		}
		if trusted {
			err = tx.AddAttestedCheckIn(ctx, c.ID, c.Serial, key, now, body)
		} else {
			err = tx.AddCheckIn(ctx, c.ID, c.Serial, now, body)
		}
		if err != nil {
			return err
		}
		if err := s.record(ctx, tx, who, now, "checkin.attested", "serial", c.Serial, c); err != nil {
			return err
		}
		return s.saveAlerts(ctx, tx, who, alerts)
	})
	return c, alerts, err
}
