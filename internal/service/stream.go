package service

import (
	"context"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/store"
	"github.com/chipgate/chipgate/internal/webhook"
)

// StreamEvents calls send with every event of the wanted types (none: all)
// that who may read, in ledger order, from ledger index from on (from the
// ledger's end when from is negative), until ctx ends or send fails; it
// calls idle each time it has caught up, so that the caller can keep its
// connection alive. The events are those a subscription of who's party
// would get, each read as who (screening events never reach a buyer);
// checkpoints are not announced. Callers: every role. Returns EINVALID
// naming types[i] for an unknown type.
func (s *Service) StreamEvents(ctx context.Context, who domain.Actor, from int64, types []string, send func(Event) error, idle func() error) error {
	if err := authorize(who, ActWebhookManage); err != nil {
		return err
	}
	for i, t := range types {
		if !webhook.Known(t) {
			return domain.Invalid("types", "unknown event type %q (types[%d])", t, i)
		}
	}
	next := from
	for ctx.Err() == nil {
		var recs []domain.AuditRecord
		err := s.store.View(ctx, func(tx store.Tx) error {
			size, err := tx.AuditSize(ctx)
			if err != nil {
				return err
			}
			if next < 0 || next > size {
				next = size
			}
			recs, err = tx.AuditRecords(ctx, next, min(next+scanBatch, size))
			return err
		})
		if err != nil {
			return err
		}
		for _, rec := range recs {
			ev, ok, err := s.eventFor(ctx, who, rec)
			if err != nil {
				return err
			}
			if ok && webhook.Wants(types, ev.Type) {
				if err := send(ev); err != nil {
					return err
				}
			}
			next = rec.Index + 1
		}
		if len(recs) == scanBatch {
			continue
		}
		if err := idle(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
		case <-time.After(s.hooks.Poll):
		}
	}
	return nil
}
