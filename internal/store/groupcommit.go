package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// groupCommit runs SQLite write transactions through one writer goroutine
// that commits several of them together: each command runs inside its own
// SAVEPOINT of a shared transaction, a failing command is rolled back to its
// savepoint alone, and one COMMIT (one fsync, with synchronous=FULL) makes
// the whole group durable before any of its callers hears back. SQLite
// serializes writers anyway, so a group changes no isolation; it only stops
// paying one fsync per command.
type groupCommit struct {
	s       *sqlStore
	queue   chan *pendingTx
	stop    chan struct{}
	done    chan struct{}
	closing sync.Once
}

type pendingTx struct {
	ctx  context.Context
	fn   func(Tx) error
	done chan error
	// panicked is what fn panicked with, if it did, set before done is
	// sent: run panics with it again in the caller's goroutine.
	panicked any
}

// maxGroup bounds how many commands share one commit.
const maxGroup = 64

func newGroupCommit(s *sqlStore) *groupCommit {
	g := &groupCommit{s: s, queue: make(chan *pendingTx, 1024), stop: make(chan struct{}), done: make(chan struct{})}
	go g.loop()
	return g
}

// run queues fn and waits for its group to commit. If fn panicked, run
// panics with the same value once the command is rolled back, as InTx does
// without a group.
func (g *groupCommit) run(ctx context.Context, fn func(Tx) error) error {
	closed := func() error { return g.s.wrap("begin", errors.New("sql: database is closed")) }
	select {
	case <-g.stop: // checked first: the queue may have room after the loop has ended
		return closed()
	default:
	}
	p := &pendingTx{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case g.queue <- p:
	case <-g.stop:
		return closed()
	case <-ctx.Done():
		return g.s.wrap("begin", ctx.Err())
	}
	// Once queued, the command runs or fails with its group; waiting for
	// the outcome even past ctx's end keeps "acknowledged" meaning durable.
	// A command queued as the store closed, after the loop's last look at
	// the queue, never runs: the loop's end says so.
	var err error
	select {
	case err = <-p.done:
	case <-g.done:
		select {
		case err = <-p.done:
		default:
			return closed()
		}
	}
	if p.panicked != nil {
		panic(p.panicked)
	}
	return err
}

func (g *groupCommit) close() {
	g.closing.Do(func() { close(g.stop) })
	<-g.done
}

func (g *groupCommit) loop() {
	defer close(g.done)
	for {
		var first *pendingTx
		select {
		case first = <-g.queue:
		case <-g.stop:
			// Fail what is still queued.
			for {
				select {
				case p := <-g.queue:
					p.done <- g.s.wrap("begin", errors.New("sql: database is closed"))
				default:
					return
				}
			}
		}
		group := []*pendingTx{first}
	fill:
		for len(group) < maxGroup {
			select {
			case p := <-g.queue:
				group = append(group, p)
			default:
				break fill
			}
		}
		g.commit(group)
	}
}

// commit runs one group in one transaction.
func (g *groupCommit) commit(group []*pendingTx) {
	results := make([]error, len(group))
	fail := func(err error) {
		for _, p := range group {
			p.done <- err
		}
	}
	sqlTx, err := g.s.writer.BeginTx(context.Background(), nil)
	if err != nil {
		fail(g.s.wrap("begin", err))
		return
	}
	t := &tx{tx: sqlTx, s: g.s, db: g.s.writer}
	// The savepoint statements are prepared once and cached like every
	// other statement: each command of a group runs three of them.
	bg := context.Background()
	ran := 0
	for i, p := range group {
		if err := p.ctx.Err(); err != nil {
			results[i] = g.s.wrap("begin", err)
			continue
		}
		if _, err := t.exec(bg, "savepoint", "SAVEPOINT cmd"); err != nil {
			results[i] = err
			continue
		}
		results[i] = runOne(p, t)
		if results[i] != nil {
			if _, err := t.exec(bg, "rollback to savepoint", "ROLLBACK TO cmd"); err != nil {
				// The transaction is in an unknown state: fail the group.
				_ = sqlTx.Rollback()
				fail(errors.Join(results[i], err))
				return
			}
		} else {
			ran++
		}
		if _, err := t.exec(bg, "release savepoint", "RELEASE cmd"); err != nil {
			_ = sqlTx.Rollback()
			fail(err)
			return
		}
	}
	if ran == 0 {
		_ = sqlTx.Rollback()
	} else if err := sqlTx.Commit(); err != nil {
		fail(g.s.wrap("commit", err))
		return
	}
	for i, p := range group {
		p.done <- results[i]
	}
}

// runOne runs one command, turning a panic into its error so that the
// group's other commands are not lost with it; the command's caller panics
// with the value again (see run).
func runOne(p *pendingTx, t *tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			p.panicked = r
			err = fmt.Errorf("store: command panicked: %v", r)
		}
	}()
	return p.fn(t)
}
