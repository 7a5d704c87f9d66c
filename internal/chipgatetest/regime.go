package chipgatetest

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/chipgate/chipgate/internal/policy"
	"github.com/chipgate/chipgate/policies"
)

// ThirdRegime is the default policy with the test-only EU dual-use regime
// of internal/policy/testdata/eu-regime.yaml spliced in: its sources,
// jurisdiction (an export authority in NL, DE or FR) and rules, and the
// route of controlled shipments through the Netherlands, so that an order
// to China needs a license of each export regime.
func ThirdRegime(tb testing.TB) *policy.Policy {
	tb.Helper()
	_, here, _, _ := runtime.Caller(0)
	raw, err := os.ReadFile(filepath.Join(filepath.Dir(here), "..", "policy", "testdata", "eu-regime.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	part := map[string]string{}
	for _, chunk := range strings.Split(string(raw), "\n# ")[1:] {
		key, body, _ := strings.Cut(chunk, "\n")
		part[key] = body + "\n"
	}
	src := string(policies.Default)
	for _, r := range [][2]string{
		{"\njurisdictions:\n", "\n" + part["sources"] + "\njurisdictions:\n" + part["jurisdictions"]},
		{"      origin: TW\n      via: [US]", "      origin: TW\n      via: [NL, US]"}, // the route passes the Netherlands
	} {
		if !strings.Contains(src, r[0]) {
			tb.Fatalf("chipgatetest: default.yaml has no %q", r[0])
		}
		src = strings.Replace(src, r[0], r[1], 1)
	}
	p, err := policy.Load("eu-regime.yaml", []byte(src+"\n"+part["rules"]))
	if err != nil {
		tb.Fatal(err)
	}
	return p
}
