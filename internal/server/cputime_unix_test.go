//go:build unix

package server_test

import (
	"syscall"
	"time"
)

// cpuTime is the process's user+system CPU time. On a shared machine the
// wall time of a benchmark depends on the neighbours; the CPU time does not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
