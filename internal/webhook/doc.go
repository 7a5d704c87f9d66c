// Package webhook is the pure part of chipgate's events: which ledger
// records announce which event types (Types, TypeOf), the Standard Webhooks
// signature (Sign, Verify) with secrets derived from a server key (Secret),
// the delivery back-off (Backoff) and the receiver address policy
// (CheckURL, Dialer). It takes values and returns values: no database, no
// clock, no globals. The delivery worker and the subscriptions live in
// internal/service; docs/EVENTS.md describes the whole.
package webhook
