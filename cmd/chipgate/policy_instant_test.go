package main

import (
	"strings"
	"testing"
)

// TestPolicyShowZonedInstant: the text lists a zoned instant as the file
// writes it, with its UTC time; the JSON with its offset and zone.
func TestPolicyShowZonedInstant(t *testing.T) {
	out, err := runChipgate(t, "policy", "show", "--at", "2026-02-01")
	if err != nil || !strings.Contains(out, "2026-01-15T00:01 America/New_York (05:01 UTC)") {
		t.Errorf("text: %v\n%s", err, out)
	}
	out, err = runChipgate(t, "policy", "show", "--at", "2026-02-01", "--json")
	if err != nil || !strings.Contains(out, `"from": "2026-01-15T00:01:00-05:00[America/New_York]"`) {
		t.Errorf("JSON: %v\n%.500s", err, out)
	}
	// Before 05:01 UTC on 2026-01-15 the duty is not in force yet.
	out, err = runChipgate(t, "policy", "show", "--at", "2026-01-15T05:00:59Z")
	if err != nil || strings.Contains(out, "duty.section-232") {
		t.Errorf("at 05:00:59Z: %v\n%s", err, out)
	}
}
