//go:build !unix

package attest_test

import "time"

// cpuTime is unknown here: the CPU-time metrics read zero.
func cpuTime() time.Duration { return 0 }
