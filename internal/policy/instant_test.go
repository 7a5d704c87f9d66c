package policy_test

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/policy"
	"github.com/chipgate/chipgate/policies"
)

// dutyStart is 12:01 a.m. US Eastern (EST, UTC-5) on 2026-01-15 (S18).
var dutyStart = time.Date(2026, 1, 15, 5, 1, 0, 0, time.UTC)

func TestParseInstant(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Time // in UTC; zero when refused
		zone    string
		text    string
		errPart string
	}{
		{"2026-01-15", day("2026-01-15"), "", "2026-01-15", ""},
		{" 2026-01-15 ", day("2026-01-15"), "", "2026-01-15", ""},
		{"2026-01-15T00:01 America/New_York", dutyStart, "America/New_York", "2026-01-15T00:01 America/New_York", ""},
		{"2026-01-15T00:01:30 America/New_York", dutyStart.Add(30 * time.Second), "America/New_York", "2026-01-15T00:01:30 America/New_York", ""},
		{"2026-07-10T00:00 America/New_York", time.Date(2026, 7, 10, 4, 0, 0, 0, time.UTC), "America/New_York", "2026-07-10T00:00 America/New_York", ""}, // EDT, UTC-4
		{"2026-01-15T05:01 UTC", dutyStart, "UTC", "2026-01-15T05:01 UTC", ""},
		{"2026-01-15T13:01 Asia/Shanghai", dutyStart, "Asia/Shanghai", "2026-01-15T13:01 Asia/Shanghai", ""},
		// Only a day or a local time with its zone.
		{"2026-01-15T05:01Z", time.Time{}, "", "", "want YYYY-MM-DD"},
		{"2026-01-15T05:01:00Z", time.Time{}, "", "", "want YYYY-MM-DD"},
		{"2026-01-15T00:01:00-05:00", time.Time{}, "", "", "want YYYY-MM-DD"},
		{"2026-01-15 00:01 America/New_York", time.Time{}, "", "", "want YYYY-MM-DD"},
		{"2026-01-15T00:01", time.Time{}, "", "", "want YYYY-MM-DD"},
		{"2026-13-15", time.Time{}, "", "", "want YYYY-MM-DD"},
		{"", time.Time{}, "", "", "want YYYY-MM-DD"},
		{"2026-01-15T00:01 Local", time.Time{}, "", "", "want an IANA zone"},
		{"2026-01-15T00:01 America/Gotham", time.Time{}, "", "", "unknown time zone"},
		{"2026-01-15T00:01 America/New_York extra", time.Time{}, "", "", "want an IANA zone"},
		// 2026-03-08 02:30 does not exist in New York; 2026-11-01 01:30 happens twice.
		{"2026-03-08T02:30 America/New_York", time.Time{}, "", "", "does not exist"},
		{"2026-03-08T03:00 America/New_York", time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC), "America/New_York", "2026-03-08T03:00 America/New_York", ""},
		{"2026-11-01T01:30 America/New_York", time.Time{}, "", "", "happens twice"},
		{"2026-11-01T02:00 America/New_York", time.Date(2026, 11, 1, 7, 0, 0, 0, time.UTC), "America/New_York", "2026-11-01T02:00 America/New_York", ""},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			i, err := policy.ParseInstant(tc.in)
			if tc.errPart != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errPart) {
					t.Fatalf("ParseInstant(%q) = %v, %v; want an error with %q", tc.in, i, err, tc.errPart)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !i.Equal(tc.want) || i.Location() != time.UTC || i.ZoneName() != tc.zone || i.String() != tc.text || i.IsDay() != (tc.zone == "") {
				t.Fatalf("ParseInstant(%q) = %s (%v, zone %q, day %v); want %v, zone %q, %q", tc.in, i, i.Time, i.ZoneName(), i.IsDay(), tc.want, tc.zone, tc.text)
			}
		})
	}
}

func TestInstantJSON(t *testing.T) {
	for in, want := range map[string]string{
		"2026-01-15":                        `"2026-01-15"`,
		"2026-01-15T00:01 America/New_York": `"2026-01-15T00:01:00-05:00[America/New_York]"`,
		"2026-01-15T05:01 UTC":              `"2026-01-15T05:01:00Z[UTC]"`,
	} {
		i, err := policy.ParseInstant(in)
		if err != nil {
			t.Fatal(err)
		}
		if b, err := json.Marshal(i); err != nil || string(b) != want {
			t.Errorf("%s: JSON %s (%v), want %s", in, b, err, want)
		}
	}
}

// TestDutyStartsAt0501UTC crosses the Section 232 duty's first instant,
// 12:01 a.m. Eastern on 2026-01-15, in the duty assessment, in an order's
// decision, in the rules the API shows and in the policy's boundaries.
func TestDutyStartsAt0501UTC(t *testing.T) {
	p := mustDefault(t)
	h200 := product(t, "h200").Spec
	tests := []struct {
		name    string
		at      time.Time
		covered bool
	}{
		{"midnight UTC on 2026-01-15", day("2026-01-15"), false},
		{"the instant before 12:01 a.m. Eastern", dutyStart.Add(-time.Nanosecond), false},
		{"12:01 a.m. Eastern", dutyStart, true},
		{"midnight Eastern on 2026-01-16", time.Date(2026, 1, 16, 5, 0, 0, 0, time.UTC), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rules := p.At(tc.at)
			d := rules.DutyFor(h200, "commercial_ai")
			if d.Covered != tc.covered {
				t.Fatalf("covered %v, want %v: %+v", d.Covered, tc.covered, d)
			}
			v, inForce := rules.Rule("duty.section-232")
			if inForce != tc.covered {
				t.Fatalf("duty.section-232 in force %v, want %v", inForce, tc.covered)
			}
			// An H200 order to China (held: customs admit none yet) carries
			// the duty only from 05:01 UTC.
			dec := rules.DecideOrder(h200CN(t, tc.at))
			if dec.Outcome == policy.Rejected {
				t.Fatalf("order rejected:%s", messages(dec.Reasons))
			}
			if (dec.Duty != nil) != tc.covered {
				t.Fatalf("decision duty %+v, want covered %v", dec.Duty, tc.covered)
			}
			if tc.covered {
				if d.Rule != "duty.section-232" || dec.Duty.Rule != "duty.section-232" || d.Rate != 250_000 {
					t.Errorf("duty %+v, decision duty %+v", d, dec.Duty)
				}
				if !v.From.Equal(dutyStart) || v.From.ZoneName() != "America/New_York" || v.From.String() != "2026-01-15T00:01 America/New_York" {
					t.Errorf("duty.section-232 from %s (%v)", v.From, v.From.Time)
				}
			}
		})
	}
	found := false
	for _, b := range p.Boundaries() {
		found = found || b.Equal(dutyStart)
	}
	if !found {
		t.Errorf("boundaries %v lack %v", p.Boundaries(), dutyStart)
	}
	// GET /api/v1/policy shows the instant with its offset and zone.
	b, err := json.Marshal(p.At(dutyStart))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"from":"2026-01-15T00:01:00-05:00[America/New_York]"`) {
		t.Errorf("policy JSON lacks the duty's zoned from: %.400s", b)
	}
}

// dutyVersions replaces the default duty rule with two versions that meet
// at until/from, written as given.
func dutyVersions(until, from string) string {
	src := string(policies.Default)
	at := strings.Index(src, "  - id: duty.section-232\n")
	end := strings.Index(src, "  # ---------------------------------------------------------------- China's import side")
	duty := func(when, rate string) string {
		return "  - id: duty.section-232\n    jurisdiction: us-232\n    source: S18\n" + when +
			"    duty:\n      importing_country: US\n      rate: \"" + rate + "\"\n      windows:\n" +
			"        - {tpp_above: 14000, tpp_below: 17500, bandwidth_above_gbps: 4500, bandwidth_below_gbps: 5000}\n" +
			"      exempt_end_uses: [us_datacenter]\n\n"
	}
	return src[:at] + duty("    from: 2026-01-15T00:01 America/New_York\n    until: "+until+"\n", "25%") +
		duty("    from: "+from+"\n", "15%") + src[end:]
}

// TestTimelinesMixDaysAndInstants: versions written as a day and as a zoned
// time meet when they name the same instant, and overlap or leave a gap
// otherwise, by any amount.
func TestTimelinesMixDaysAndInstants(t *testing.T) {
	tests := []struct {
		name, until, from string
		problem           string // "" when the file loads
		switchAt          time.Time
	}{
		{"day until, day from", "2026-07-01", "2026-07-01", "", day("2026-07-01")},
		{"zoned until meets day from", "2026-06-30T20:00 America/New_York", "2026-07-01", "", day("2026-07-01")},
		{"day until meets zoned from", "2026-07-01", "2026-07-01T08:00 Asia/Shanghai", "", day("2026-07-01")},
		{"zoned until meets zoned from in another zone", "2026-07-01T00:01 America/New_York", "2026-07-01T04:01 UTC", "", time.Date(2026, 7, 1, 4, 1, 0, 0, time.UTC)},
		{"zoned until a minute late", "2026-06-30T20:01 America/New_York", "2026-07-01", "overlapping effective dates: version from 2026-07-01 starts before the version at line", time.Time{}},
		{"zoned until a second early", "2026-06-30T19:59:59 America/New_York", "2026-07-01", "gap in effective dates: nothing in force from 2026-06-30T19:59:59 America/New_York", time.Time{}},
		{"day from an hour after a zoned until", "2026-07-01", "2026-07-01T01:00 UTC", "gap in effective dates", time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := policy.Load("mixed.yaml", []byte(dutyVersions(tc.until, tc.from)))
			if tc.problem != "" {
				var le *policy.LoadError
				if !errors.As(err, &le) || !strings.Contains(err.Error(), "rule duty.section-232: "+tc.problem) {
					t.Fatalf("error %v, want a problem of rule duty.section-232 with %q", err, tc.problem)
				}
				for _, pr := range le.Problems {
					if pr.Line == 0 || pr.File != "mixed.yaml" {
						t.Errorf("problem without file and line: %s", pr)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			h200 := product(t, "h200").Spec
			if d := p.At(tc.switchAt.Add(-time.Nanosecond)).DutyFor(h200, "x"); d.Rate != 250_000 || d.Rule != "duty.section-232" {
				t.Errorf("the instant before the switch: %+v", d)
			}
			if d := p.At(tc.switchAt).DutyFor(h200, "x"); d.Rate != 150_000 || d.Rule != "duty.section-232" {
				t.Errorf("at the switch: %+v", d)
			}
		})
	}
}

// TestLoadRefusesInstants: a bad from or until is reported with the file,
// its line and the rule, and the other problems of the file still are.
func TestLoadRefusesInstants(t *testing.T) {
	src := string(policies.Default)
	lineOf := func(src, text string) int { return strings.Count(src[:strings.Index(src, text)], "\n") + 1 }
	tests := []struct {
		old, new string
		want     string
	}{
		{"    from: 2026-01-15T00:01 America/New_York\n", "    from: 2026-01-15T05:01Z\n", `rule duty.section-232: instant "2026-01-15T05:01Z": want YYYY-MM-DD (the start of the day, UTC) or YYYY-MM-DDTHH:MM Area/City`},
		{"    from: 2026-01-15T00:01 America/New_York\n", "    from: 2026-01-15T00:01 US/Gotham\n", `rule duty.section-232: instant "2026-01-15T00:01 US/Gotham": unknown time zone "US/Gotham"`},
		{"    from: 2026-01-15T00:01 America/New_York\n", "    from: 2026-03-08T02:30 America/New_York\n", "rule duty.section-232: instant \"2026-03-08T02:30 America/New_York\": 2026-03-08T02:30 does not exist"},
		{"    from: 2026-01-15T00:01 America/New_York\n", "    from: [2026-01-15]\n", "rule duty.section-232: want an instant"},
		{"    until: 2026-07-10\n", "    until: 2026-07-10T00:00 Local\n", "rule country-group.a5: instant"},
	}
	for _, tc := range tests {
		t.Run(tc.new, func(t *testing.T) {
			if !strings.Contains(src, tc.old) {
				t.Fatalf("default.yaml has no %q", tc.old)
			}
			bad := strings.Replace(src, tc.old, tc.new, 1)
			bad = strings.Replace(bad, "    source: S6\n", "    source: S99\n", 1) // a second, unrelated problem
			_, err := policy.Load("bad.yaml", []byte(bad))
			var le *policy.LoadError
			if !errors.As(err, &le) || domain.ErrorCode(err) != domain.EINVALID {
				t.Fatalf("error %T %v", err, err)
			}
			want := "bad.yaml:" + strconv.Itoa(lineOf(bad, tc.new)) + ": " + tc.want
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error\n%v\nlacks %q", err, want)
			}
			if !strings.Contains(err.Error(), `rule reexport.denied: source: unknown source id "S99"`) {
				t.Errorf("the other problem is not reported:\n%v", err)
			}
		})
	}
}

// FuzzParseInstant: any text is refused or read as an instant whose written
// form reads back as the same instant and zone.
func FuzzParseInstant(f *testing.F) {
	for _, s := range []string{"2026-01-15", "2026-01-15T00:01 America/New_York", "2026-01-15T00:01:59 Asia/Shanghai",
		"2026-03-08T02:30 America/New_York", "2026-11-01T01:30 America/New_York", "2026-01-15T05:01Z", "0000-01-01T00:00 UTC", "x y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		i, err := policy.ParseInstant(s)
		if err != nil {
			return
		}
		again, err := policy.ParseInstant(i.String())
		if err != nil || !again.Equal(i.Time) || again.ZoneName() != i.ZoneName() || again.String() != i.String() {
			t.Fatalf("%q read as %s (%v), which reads back as %s (%v, %v)", s, i, i.Time, again, again.Time, err)
		}
	})
}
