package store

// QueuedWrites returns how many write transactions wait in the group
// commit's queue of st, or -1 when st commits each on its own (PostgreSQL).
func QueuedWrites(st Store) int {
	s := st.(*sqlStore)
	if s.group == nil {
		return -1
	}
	return len(s.group.queue)
}
