package service

import (
	"context"
	"sync"
	"time"

	"github.com/chipgate/chipgate/internal/store"
)

// screenLog batches the log entries of ad-hoc searches. A search answers
// without waiting for its entry to be durable: waiting cost a write
// transaction (an fsync on SQLite) per search, a quarter of the search
// throughput (docs/SCREENING.md). Instead the first entry after a quiet
// spell starts a writer goroutine that gathers for screenLogGather, writes
// everything pending in one transaction, and repeats until nothing is
// pending, then ends; so no goroutine outlives the work, and a crash loses
// at most the entries of the last moments. Entries never wait unbounded:
// past screenLogMax pending, the search that finds them so writes the batch
// itself before answering.
type screenLog struct {
	mu      sync.Mutex
	pending []ScreeningLogEntry
	// running says a writer goroutine runs.
	running bool
	// queued counts the entries ever queued, settled those written (or
	// dropped); settledCh is closed and replaced each time settled grows.
	queued, settled int64
	settledCh       chan struct{}
}

// settle counts n entries settled and wakes FlushScreeningLog; l.mu held.
func (l *screenLog) settle(n int) {
	l.settled += int64(n)
	if l.settledCh != nil {
		close(l.settledCh)
		l.settledCh = nil
	}
}

const (
	screenLogGather = 20 * time.Millisecond
	screenLogMax    = 20_000
	// screenLogTries is how often a batch is tried before it is dropped
	// with an error logged (a store that fails that long fails every
	// command, and the writer must end).
	screenLogTries = 5
)

// logSearches queues ad-hoc search entries for the log.
func (s *Service) logSearches(ctx context.Context, entries []ScreeningLogEntry) error {
	l := &s.searchLog
	l.mu.Lock()
	l.pending = append(l.pending, entries...)
	l.queued += int64(len(entries))
	if len(l.pending) >= screenLogMax {
		batch := l.pending
		l.pending = nil
		l.mu.Unlock()
		err := s.store.InTx(ctx, func(tx store.Tx) error { return logScreenings(ctx, tx, batch) })
		l.mu.Lock()
		if err != nil {
			l.pending = append(batch, l.pending...) // the writer tries again
		} else {
			l.settle(len(batch))
		}
		l.mu.Unlock()
		return err
	}
	start := !l.running
	l.running = true
	l.mu.Unlock()
	if start {
		go s.writeSearchLog()
	}
	return nil
}

// writeSearchLog writes pending entries in batches until none is pending.
func (s *Service) writeSearchLog() {
	l := &s.searchLog
	tries := 0
	for {
		time.Sleep(screenLogGather)
		l.mu.Lock()
		batch := l.pending
		l.pending = nil
		if len(batch) == 0 {
			l.running = false
			l.mu.Unlock()
			return
		}
		l.mu.Unlock()
		ctx := context.Background()
		err := s.store.InTx(ctx, func(tx store.Tx) error { return logScreenings(ctx, tx, batch) })
		l.mu.Lock()
		switch {
		case err == nil:
			tries = 0
			l.settle(len(batch))
		case tries+1 < screenLogTries:
			tries++
			l.pending = append(batch, l.pending...)
		default:
			tries = 0
			l.settle(len(batch))
			s.log.Error("screening log: entries dropped", "entries", len(batch), "err", err)
		}
		l.mu.Unlock()
	}
}

// FlushScreeningLog waits until the ad-hoc searches logged before the
// call are written (or ctx ends): for shutdown, and so that a read of the
// log sees the searches before it.
func (s *Service) FlushScreeningLog(ctx context.Context) error {
	l := &s.searchLog
	l.mu.Lock()
	target := l.queued
	for l.settled < target {
		if l.settledCh == nil {
			l.settledCh = make(chan struct{})
		}
		ch := l.settledCh
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		l.mu.Lock()
	}
	l.mu.Unlock()
	return nil
}
