package allocation_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/chipgate/chipgate/internal/allocation"
)

// TestPropertiesRandom runs the engine on random problems and checks every
// rule on the result with checks written independently of the engine: no
// lot over-used, no order over-filled, every unit accounted for with a
// reason, no unit before its order's or lot's period or to a region the lot
// is too young for, every cap (ratio caps at every period), the max-min
// property, and identical output for identical input.
func TestPropertiesRandom(t *testing.T) {
	n := 2000
	if testing.Short() {
		n = 100
	}
	n = seeds(n)
	for seed := 0; seed < n; seed++ {
		r := rand.New(rand.NewPCG(uint64(seed), 7))
		p := randomProblem(r)
		if seed%4 == 3 {
			p = randomSized(r, 10, 30, 10) // fewer, larger problems
		}
		res, err := allocation.Run(p)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if msg := checkResult(&p, res); msg != "" {
			b, _ := json.Marshal(p)
			t.Fatalf("seed %d: %s\nproblem: %s", seed, msg, b)
		}
		again, err := allocation.Run(p)
		if err != nil {
			t.Fatal(err)
		}
		b1, _ := json.Marshal(res)
		b2, _ := json.Marshal(again)
		if !bytes.Equal(b1, b2) {
			t.Fatalf("seed %d: two runs of the same problem differ", seed)
		}
	}
}

// seeds returns n, or the number in ALLOCATION_SEEDS for a deeper run
// (ALLOCATION_SEEDS=5000 go test -run 'Random|GLPK' ./internal/allocation/).
func seeds(n int) int {
	if v, err := strconv.Atoi(os.Getenv("ALLOCATION_SEEDS")); err == nil && v > 0 {
		return v
	}
	return n
}
