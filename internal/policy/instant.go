package policy

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	// Rule instants name IANA zones ("America/New_York"). Embedding the
	// zone database means a policy file loads the same on a host without
	// /usr/share/zoneinfo (a scratch container) as on a workstation.
	_ "time/tzdata"

	"go.yaml.in/yaml/v3"
)

// Instant is when a rule version takes or leaves effect. It is written
// either as a day, 2026-01-15, meaning the start of that day in UTC, or,
// where the source names a local time, as that time and its IANA zone:
// 2026-01-15T00:01 America/New_York is 12:01 a.m. US Eastern time on
// 2026-01-15, 05:01 UTC (the Section 232 duty, S18). Nothing else is
// accepted: an instant in a file says what the source says, and a bare
// "05:01Z" would hide that the source spoke of Eastern time.
type Instant struct {
	// Time is the instant, in UTC.
	time.Time
	// loc is the zone the instant was written in; nil for a day.
	loc *time.Location
}

const (
	instantDay    = time.DateOnly
	instantMinute = "2006-01-02T15:04"
	instantSecond = "2006-01-02T15:04:05"
)

// ParseInstant reads an instant written as 2006-01-02 (the start of the day,
// UTC) or as a local time and an IANA zone, 2006-01-02T15:04[:05] Area/City.
// A local time the zone skips (a daylight-saving gap) or passes twice (the
// hour repeated when clocks go back) is refused: it names no single instant.
func ParseInstant(s string) (Instant, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(instantDay, s); err == nil {
		return Instant{Time: t}, nil
	}
	want := fmt.Errorf("instant %q: want YYYY-MM-DD (the start of the day, UTC) or YYYY-MM-DDTHH:MM Area/City "+
		"(a local time in an IANA zone, e.g. 2026-01-15T00:01 America/New_York)", s)
	clock, zone, ok := strings.Cut(s, " ")
	zone = strings.TrimSpace(zone)
	if !ok || zone == "" {
		return Instant{}, want
	}
	var wall time.Time
	var err error
	if wall, err = time.Parse(instantMinute, clock); err != nil {
		if wall, err = time.Parse(instantSecond, clock); err != nil {
			return Instant{}, want
		}
	}
	// "Local" is the host's zone, which a policy file must not depend on.
	if zone == "Local" || strings.ContainsAny(zone, " \t") {
		return Instant{}, fmt.Errorf("instant %q: time zone %q: want an IANA zone name such as America/New_York or UTC", s, zone)
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return Instant{}, fmt.Errorf("instant %q: unknown time zone %q: want an IANA zone name such as America/New_York or UTC", s, zone)
	}
	t, n := localInstant(wall, loc)
	switch {
	case n == 0:
		return Instant{}, fmt.Errorf("instant %q: %s does not exist in %s (the clocks skip it)", s, clock, zone)
	case n > 1:
		return Instant{}, fmt.Errorf("instant %q: %s happens twice in %s (the clocks go back); write the day or another time", s, clock, zone)
	}
	return Instant{Time: t.UTC(), loc: loc}, nil
}

// localInstant finds the instants at which the clocks of loc show wall (a
// time read as if in UTC): the wall time at each offset the zone uses in
// the two days around it, kept when the zone really shows it then. n is
// how many there are: 0 in a gap, 2 in a repeated hour, else 1.
func localInstant(wall time.Time, loc *time.Location) (t time.Time, n int) {
	var offsets []int
	for _, probe := range [3]time.Time{wall.Add(-48 * time.Hour), wall, wall.Add(48 * time.Hour)} {
		if _, off := probe.In(loc).Zone(); !slices.Contains(offsets, off) {
			offsets = append(offsets, off)
		}
	}
	for _, off := range offsets {
		cand := wall.Add(-time.Duration(off) * time.Second)
		l := cand.In(loc)
		if _, o := l.Zone(); o == off && time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), 0, time.UTC).Equal(wall) {
			t = cand
			n++
		}
	}
	return t, n
}

// IsDay reports whether the instant was written as a day: the start of
// that day, UTC.
func (i Instant) IsDay() bool { return i.loc == nil }

// ZoneName is the IANA zone the instant was written in ("America/New_York"),
// or "" for a day.
func (i Instant) ZoneName() string {
	if i.loc == nil {
		return ""
	}
	return i.loc.String()
}

// Local is the instant in the zone it was written in (UTC for a day).
func (i Instant) Local() time.Time {
	if i.loc == nil {
		return i.Time
	}
	return i.In(i.loc)
}

// String writes the instant as the file does: 2026-01-15, or
// 2026-01-15T00:01 America/New_York.
func (i Instant) String() string {
	if i.loc == nil {
		return i.Format(instantDay)
	}
	l := i.Local()
	layout := instantMinute
	if l.Second() != 0 {
		layout = instantSecond
	}
	return l.Format(layout) + " " + i.loc.String()
}

// MarshalJSON writes a day as "2026-01-15" and a zoned instant as RFC 9557
// does, the local time with its UTC offset and the zone:
// "2026-01-15T00:01:00-05:00[America/New_York]" — the offset fixes the
// instant (05:01 UTC), the zone says which clock the source spoke of.
func (i Instant) MarshalJSON() ([]byte, error) {
	if i.loc == nil {
		return json.Marshal(i.Format(instantDay))
	}
	return json.Marshal(i.Local().Format(time.RFC3339) + "[" + i.loc.String() + "]")
}

// UnmarshalYAML reads the instant from its plain text, so that YAML's own
// timestamp rules cannot sneak in. A bad instant is reported as a type
// error, which lets the loader go on and name the rule it belongs to.
func (i *Instant) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return lineError(n, "want an instant: YYYY-MM-DD or YYYY-MM-DDTHH:MM Area/City")
	}
	v, err := ParseInstant(n.Value)
	if err != nil {
		return lineError(n, "%v", err)
	}
	*i = v
	return nil
}

// lineError is a problem at n's line, as a type error: the YAML decoder
// collects type errors and goes on decoding, where any other error would
// stop it at the first problem.
func lineError(n *yaml.Node, format string, args ...any) error {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: ", n.Line) + fmt.Sprintf(format, args...)}}
}
