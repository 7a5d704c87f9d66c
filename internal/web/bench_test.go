package web_test

import (
	"net/http"
	"testing"
)

// BenchmarkPages measures each role's page end to end over HTTP on the demo
// data and its story: the session check, the service reads and the template.
// docs/BENCHMARKS-web.md has the figures.
func BenchmarkPages(b *testing.B) {
	e := newEnv(b)
	for _, p := range []struct{ path, party string }{
		{"/buyer", "bytedance"}, {"/export", "us-commerce"}, {"/import", "cn-mofcom"}, {"/vendor", "nvidia"},
		{"/auditor", "auditor"}, {"/auditor/verify", "auditor"}, {"/lab", "us-testlab"},
		{"/csv/buyer/orders.csv", "bytedance"}, {"/csv/export/licenses.csv", "us-commerce"},
	} {
		br := e.browser()
		br.signIn(p.party)
		b.Run(p.path, func(b *testing.B) {
			for b.Loop() {
				if r := br.get(p.path); r.status != http.StatusOK {
					b.Fatalf("%s: %d", p.path, r.status)
				}
			}
		})
	}
}
