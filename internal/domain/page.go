package domain

import "time"

// Paging bounds of every list read: a page holds DefaultPageLimit items
// unless the reader asks for 1 to MaxPageLimit.
const (
	DefaultPageLimit = 50
	MaxPageLimit     = 500
)

// ListQuery asks for one page of a list: which records (the filters), in
// which order, from where (Cursor) and how many (Limit). Its zero value is
// the first page, newest first, of DefaultPageLimit records.
type ListQuery struct {
	// Limit is the most items on the page: 0 means DefaultPageLimit;
	// otherwise 1 to MaxPageLimit.
	Limit int
	// Cursor is the NextCursor of the page before, or "" for the first.
	Cursor string
	// Asc lists oldest first; newest first otherwise.
	Asc bool
	// Status keeps records in one of these states (none: every state).
	Status []string
	// Party keeps one party's records, by id or slug, for readers who see
	// every party's; a reader who sees only its own may name only itself.
	Party string
	// Since and Before bound the creation instant: Since inclusive,
	// Before exclusive; zero bounds none.
	Since, Before time.Time
}

// Page is one page of a list: its items, never nil, and the cursor of the
// next page, "" on the last one.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}
