// Package attest is the cryptography of attested device check-ins: the
// messages a landmark (a timing server at known coordinates) and a device
// sign, the evidence a device submits, and its verification. It is pure: it
// reads no clock of its own (callers pass instants), opens no database and
// serves no HTTP, so the program, the landmark, the agent and an auditor
// holding only public keys all run the same checks.
//
// The protocol, per landmark (docs/TELEMETRY.md):
//
//  1. the device sends the program's challenge nonce and its public key; the
//     landmark answers a Ping it signs, carrying the instant it sent it;
//  2. the device signs the Ping at once with its key and sends it back (an
//     Echo); the landmark checks its own Ping and the device's signature,
//     notes the instant the Echo arrived and signs a Receipt with both.
//
// A Receipt's round trip was timed by the landmark's clock, between two
// messages only the landmark's key and the device's key could make: the key
// holder was within the round trip of the landmark. Delay can be added to a
// round trip, never removed, so a Receipt bounds the device's distance from
// the landmark from above only.
//
// The device then signs the Evidence (serial, nonce, every Receipt's
// signature) and submits it; Verify checks it against the device key the
// lab recorded and the landmarks' public keys the policy holds.
package attest
