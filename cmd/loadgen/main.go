// Command loadgen drives a running chipgate server with a realistic mix of
// reads and writes from several concurrent clients for a bounded time, and
// reports throughput and latency percentiles per endpoint. It only ever
// talks to the URL it is given (use a loopback address).
//
//	go run ./cmd/chipgate demo --addr 127.0.0.1:8080 --tokens-file /tmp/tokens.json &
//	go run ./cmd/loadgen --url http://127.0.0.1:8080 --tokens /tmp/tokens.json --mix orders --duration 60s --concurrency 8
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	neturl "net/url"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type credential struct {
	Role  string `json:"role"`
	Token string `json:"token"`
}

// op is one kind of request of the mix.
type op struct {
	name   string
	weight int
	build  func(r *rand.Rand) (method, path, party string, body []byte)
}

func main() {
	url := flag.String("url", "http://127.0.0.1:8080", "server base URL (loopback)")
	tokensFile := flag.String("tokens", "", "the demo's --tokens-file JSON")
	duration := flag.Duration("duration", 60*time.Second, "how long to run")
	conc := flag.Int("concurrency", 8, "concurrent clients")
	mix := flag.String("mix", "mixed", "orders (durable order decisions only), screen (restricted-party screening) or mixed (reads and writes)")
	seed := flag.Uint64("seed", 1, "random seed")
	maxReq := flag.Int("max-requests", 10_000_000, "stop after this many requests")
	flag.Parse()
	if err := run(*url, *tokensFile, *duration, *conc, *mix, *seed, *maxReq); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(url, tokensFile string, duration time.Duration, conc int, mix string, seed uint64, maxReq int) error {
	if !strings.HasPrefix(url, "http://127.") && !strings.HasPrefix(url, "http://localhost") && !strings.HasPrefix(url, "http://[::1]") {
		return errors.New("--url: loadgen only drives servers on this machine (loopback)")
	}
	raw, err := os.ReadFile(tokensFile)
	if err != nil {
		return fmt.Errorf("--tokens: %w", err)
	}
	var creds map[string]credential
	if err := json.Unmarshal(raw, &creds); err != nil {
		return fmt.Errorf("--tokens: %w", err)
	}
	ops, err := mixOf(mix)
	if err != nil {
		return err
	}
	total := 0
	for _, o := range ops {
		total += o.weight
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc * 2}, Timeout: 30 * time.Second}
	type sample struct {
		op     string
		status int
		dur    time.Duration
	}
	results := make(chan []sample, conc)
	var issued sync.WaitGroup
	var sent atomic.Int64
	start := time.Now()
	for w := 0; w < conc; w++ {
		issued.Add(1)
		go func(w int) {
			defer issued.Done()
			r := rand.New(rand.NewPCG(seed, uint64(w)))
			var out []sample
			for ctx.Err() == nil && sent.Add(1) <= int64(maxReq) {
				pick := r.IntN(total)
				var o op
				for _, o = range ops {
					if pick < o.weight {
						break
					}
					pick -= o.weight
				}
				method, path, party, body := o.build(r)
				req, _ := http.NewRequestWithContext(ctx, method, url+path, bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+creds[party].Token)
				if body != nil {
					req.Header.Set("Content-Type", "application/json")
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				d := time.Since(t0)
				status := 0
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					status = resp.StatusCode
				} else if ctx.Err() != nil {
					break
				}
				out = append(out, sample{o.name, status, d})
			}
			results <- out
		}(w)
	}
	issued.Wait()
	elapsed := time.Since(start)
	close(results)
	by := map[string][]time.Duration{}
	statuses := map[string]map[int]int{}
	n := 0
	for batch := range results {
		for _, s := range batch {
			by[s.op] = append(by[s.op], s.dur)
			if statuses[s.op] == nil {
				statuses[s.op] = map[int]int{}
			}
			statuses[s.op][s.status]++
			n++
		}
	}
	fmt.Printf("loadgen: %s mix, %d clients, %s, %d requests, %.0f req/s\n", mix, conc, elapsed.Round(time.Millisecond), n, float64(n)/elapsed.Seconds())
	fmt.Printf("%-28s %8s %9s %9s %9s %9s %9s  %s\n", "endpoint", "count", "req/s", "p50", "p90", "p99", "max", "statuses")
	names := make([]string, 0, len(by))
	for k := range by {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		ds := by[k]
		slices.Sort(ds)
		q := func(p float64) time.Duration { return ds[min(len(ds)-1, int(p*float64(len(ds))))] }
		var st []string
		for code, c := range statuses[k] {
			st = append(st, fmt.Sprintf("%d×%d", code, c))
		}
		sort.Strings(st)
		fmt.Printf("%-28s %8d %9.0f %9s %9s %9s %9s  %s\n", k, len(ds), float64(len(ds))/elapsed.Seconds(),
			round(q(0.50)), round(q(0.90)), round(q(0.99)), round(ds[len(ds)-1]), strings.Join(st, " "))
	}
	return nil
}

func round(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	default:
		return d.Round(10 * time.Microsecond).String()
	}
}

// screenNames mix listed names, misspellings, Chinese script and clean names.
var screenNames = []string{
	"Harbin Institute of Technology", "Harbin Instiute of Technolgy", "Huawei Technologies Co., Ltd.", "华为技术有限公司",
	"Beijing ByteDance Technology Co., Ltd.", "Alibaba Cloud Computing", "Shenzhen Tencent Computer Systems",
	"DeepCurrent AI (Hangzhou) Co., Ltd.", "Semiconductor Manufacturing International Corporation", "SMIC",
	"Zhejiang Dahua Technology", "Hikvision", "Iran Air", "Rosoboronexport", "Sberbank", "Acme Widgets GmbH",
	"National University of Defense Technology", "Nanchang Hongdu", "Tsinghua Unigroup", "Inspur Group",
}

var buyersCN = []string{"bytedance", "alibaba", "tencent", "deepcurrent-ai", "cn-university-lab"}
var buyersUS = []string{"us-cloud-a", "us-cloud-b"}
var everyone = []string{"nvidia", "us-commerce", "cn-mofcom", "bytedance", "alibaba", "tencent", "us-cloud-a", "us-testlab", "carrier", "auditor"}

func orderBody(r *rand.Rand, endUse string) []byte {
	return []byte(fmt.Sprintf(`{"product":"h200","quantity":%d,"requested_period":"2027-01-04","site":0,"end_use":%q}`, 1+r.IntN(3), endUse))
}

func mixOf(name string) ([]op, error) {
	place := op{"POST /orders", 1, func(r *rand.Rand) (string, string, string, []byte) {
		if r.IntN(3) == 0 {
			return "POST", "/api/v1/orders", buyersCN[r.IntN(len(buyersCN))], orderBody(r, "commercial_ai")
		}
		return "POST", "/api/v1/orders", buyersUS[r.IntN(len(buyersUS))], orderBody(r, "commercial_ai")
	}}
	switch name {
	case "orders":
		return []op{place}, nil
	case "screen":
		return []op{{"GET /screen", 1, func(r *rand.Rand) (string, string, string, []byte) {
			q := screenNames[r.IntN(len(screenNames))]
			return "GET", "/api/v1/screen?name=" + neturl.QueryEscape(q) + "&country=CN", "us-commerce", nil
		}}}, nil
	case "mixed":
		place.weight = 25
		return []op{place,
			{"GET /me", 20, func(r *rand.Rand) (string, string, string, []byte) {
				return "GET", "/api/v1/me", everyone[r.IntN(len(everyone))], nil
			}},
			{"GET /orders (buyer)", 10, func(r *rand.Rand) (string, string, string, []byte) {
				return "GET", "/api/v1/orders?status=held_for_review", buyersCN[r.IntN(len(buyersCN))], nil
			}},
			{"GET /licenses", 10, func(r *rand.Rand) (string, string, string, []byte) {
				return "GET", "/api/v1/licenses", buyersCN[r.IntN(len(buyersCN))], nil
			}},
			{"GET /products/{}/class.", 10, func(r *rand.Rand) (string, string, string, []byte) {
				return "GET", "/api/v1/products/h200/classification", everyone[r.IntN(len(everyone))], nil
			}},
			{"GET /ledger/checkpoint", 10, func(r *rand.Rand) (string, string, string, []byte) {
				return "GET", "/api/v1/ledger/checkpoint", "auditor", nil
			}},
			{"GET /ledger/proofs/incl.", 10, func(r *rand.Rand) (string, string, string, []byte) {
				return "GET", fmt.Sprintf("/api/v1/ledger/proofs/inclusion?index=%d", r.IntN(100)), "auditor", nil
			}},
			{"POST /tokens", 5, func(r *rand.Rand) (string, string, string, []byte) {
				return "POST", "/api/v1/tokens", everyone[r.IntN(len(everyone))], []byte(`{"label":"loadgen","ttl_hours":1}`)
			}},
		}, nil
	}
	return nil, fmt.Errorf("--mix: %q is not orders, screen or mixed", name)
}
