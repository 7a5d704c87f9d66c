package chipgatetest

import (
	"sync"
	"time"
)

// Clock is a clock a test sets: the policy's rules change on given days,
// tokens and sessions expire, and alerts fall due after weeks, so tests
// move time instead of waiting for it. It is safe for concurrent use,
// because the server reads it from every request's goroutine while the
// test moves it.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock that stands at at until it is set or moved.
func NewClock(at time.Time) *Clock { return &Clock{now: at} }

// Now returns the clock's instant; pass it as service.Options.Now.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to at, back or forth.
func (c *Clock) Set(at time.Time) {
	c.mu.Lock()
	c.now = at
	c.mu.Unlock()
}

// Add moves the clock by d, as atomically as one call to Set: two
// goroutines adding an hour each move it two hours.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}
