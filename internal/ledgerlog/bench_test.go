package ledgerlog_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/ledger"
	"github.com/chipgate/chipgate/internal/ledgerlog"
	"github.com/chipgate/chipgate/internal/witness"
)

// BenchmarkCheckpoint measures one checkpoint of 100 new records: integrate,
// sign, remember in the signer's state file (written and synced, as serve
// does) and publish, without witnesses and with one or two witnesses
// cosigning over HTTP on loopback (each syncing its own state file before it
// answers, as tlog-witness requires). The difference is what cosigning adds
// to a checkpoint (docs/BENCHMARKS.md). cpu-ms/op is the process's CPU time
// (log and witnesses together), which neighbours on a shared machine
// inflate less than the wall clock. TMPDIR chooses the disk.
//
//	go test -run '^$' -bench Checkpoint -benchtime 1000x ./internal/ledgerlog
func BenchmarkCheckpoint(b *testing.B) {
	for _, n := range []int{0, 1, 2} {
		b.Run([]string{"NoWitness", "OneWitnessLoopback", "TwoWitnessesLoopback"}[n], func(b *testing.B) {
			d := newDB()
			k := newKey(b)
			var ws []ledgerlog.Witness
			for i := range n {
				w := witnessFor(b, []string{"w1.bench", "w2.bench"}[i], k.vkey, b.TempDir())
				srv := httptest.NewServer(w)
				b.Cleanup(srv.Close)
				c, err := witness.NewClient(srv.URL, w.VerifierKey(), &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}})
				if err != nil {
					b.Fatal(err)
				}
				ws = append(ws, c)
			}
			l, err := ledgerlog.New(ledgerlog.Config{Tiles: tileStore{d}, Entries: d, Checkpoints: d, Signer: k.signer,
				State:     ledgerlog.FileState(filepath.Join(b.TempDir(), "ledger.key.checkpoint")),
				Witnesses: ws, Quorum: n, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			d.add(1000)
			if _, err := l.Checkpoint(ctx); err != nil {
				b.Fatal(err)
			}
			cpu := cpuTime()
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				d.add(100)
				b.StartTimer()
				c, err := l.Checkpoint(ctx)
				if err != nil || c == nil {
					b.Fatalf("%+v %v", c, err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/1000/float64(b.N), "cpu-ms/op")
			if n > 0 && cosignaturesOn(b, k, d.cps[len(d.cps)-1], ws) != n {
				b.Fatal("the last checkpoint is not cosigned")
			}
		})
	}
}

func witnessFor(tb testing.TB, name, vkey, dir string) *witness.Witness {
	tb.Helper()
	skey, _, err := ledger.GenerateWitnessKey(name)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := ledger.ParseCosigner(skey)
	if err != nil {
		tb.Fatal(err)
	}
	v, err := ledger.ParseVerifierKey(vkey)
	if err != nil {
		tb.Fatal(err)
	}
	w, err := witness.New(witness.Config{Cosigner: c, LogKey: v, StateFile: filepath.Join(dir, name+".state")})
	if err != nil {
		tb.Fatal(err)
	}
	return w
}

func cosignaturesOn(tb testing.TB, k key, signed []byte, ws []ledgerlog.Witness) int {
	tb.Helper()
	v, _ := ledger.ParseVerifierKey(k.vkey)
	var vs []noteVerifier
	for _, w := range ws {
		vs = append(vs, w.Verifier())
	}
	_, cosigs, err := ledger.Cosignatures(signed, v, vs)
	if err != nil {
		tb.Fatal(err)
	}
	return len(cosigs)
}

// cpuTime is the CPU time the process used so far (the timer's stops
// included: adding records costs little next to a checkpoint).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
