//go:build !unix

package server_test

import "time"

// cpuTime is unknown here: the CPU-time metrics read zero.
func cpuTime() time.Duration { return 0 }
