package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/policy"
	"github.com/chipgate/chipgate/policies"
)

// readPolicy loads the policy file at path, or the embedded default when
// path is empty.
func readPolicy(path string) (*policy.Policy, error) {
	if path == "" {
		return policy.Load("default.yaml", policies.Default)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, domain.Errorf(domain.EINVALID, "policy file: %v", err)
	}
	return policy.Load(path, data)
}

// parseInstant reads --at: a day (2026-01-15, meaning its start in UTC) or
// an RFC 3339 instant; empty means now.
func parseInstant(s string) (time.Time, error) {
	if s == "" {
		return time.Now().UTC(), nil
	}
	if d, err := policy.ParseDate(s); err == nil {
		return d.Time, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, domain.Invalid("at", "want YYYY-MM-DD or an RFC 3339 instant, got %q", s)
	}
	return t, nil
}

func newPolicyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Check a policy file or show the rules in force",
	}
	cmd.AddCommand(newPolicyCheckCmd(), newPolicyShowCmd())
	return cmd
}

func newPolicyCheckCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "check FILE...",
		Short: "Validate policy files: schema, CEL, effective dates, sources",
		Long: `Validate policy files. Every problem is printed as FILE:LINE: rule ID: message:
unknown fields, CEL expressions that do not type-check, versions of a rule whose
effective dates overlap or leave a gap, unknown source ids, values out of range.
Exits 1 when any file has a problem.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			bad := 0
			for _, path := range args {
				p, err := readPolicy(path)
				if err != nil {
					bad++
					if le, ok := err.(*policy.LoadError); ok {
						for _, pr := range le.Problems {
							fmt.Fprintln(out, pr)
						}
						continue
					}
					fmt.Fprintf(out, "%s: %v\n", path, err)
					continue
				}
				ids := map[string]bool{}
				for _, r := range p.Versions() {
					ids[r.ID] = true
				}
				b := p.Boundaries()
				fmt.Fprintf(out, "%s: ok: policy %s, %d rules in %d versions, effective dates %s … %s\n",
					path, p.Name(), len(ids), len(p.Versions()), b[0].Format(time.DateOnly), b[len(b)-1].Format(time.DateOnly))
			}
			if bad > 0 {
				return &exitError{code: 1, err: fmt.Errorf("policy check: %d of %d files have problems", bad, len(args))}
			}
			return nil
		},
	}
}

func newPolicyShowCmd() *cobra.Command {
	var (
		at     string
		file   string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "show [--at DATE] [--policy FILE] [--json]",
		Short: "Show the rules in force at an instant",
		Long: `Show the rules in force at an instant (default now) with their sources,
every decision the engine makes with the rules in force that have a say in
it, and the jurisdictions.
--json prints the same document as GET /api/v1/policy.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := parseInstant(at)
			if err != nil {
				return err
			}
			p, err := readPolicy(file)
			if err != nil {
				return err
			}
			rules := p.At(t)
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetEscapeHTML(false)
				enc.SetIndent("", "  ")
				return enc.Encode(rules)
			}
			fmt.Fprintf(out, "policy %s at %s: %d rules in force\n\n", rules.Policy, t.Format(time.RFC3339), len(rules.Rules))
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tKIND\tFROM\tUNTIL\tSOURCE\tSUMMARY")
			for _, r := range rules.Rules {
				until := "-"
				if r.Until != nil {
					until = instantText(*r.Until)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Kind, instantText(r.From), until, r.Source, r.Summary)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintln(out, "\nDecisions (internal/policy; docs/POLICY.md):")
			for _, d := range policy.Decisions {
				fmt.Fprintf(out, "  %s — %s\n    looks at: %s\n    rules in force: %s\n", d.Name, d.Function, d.Inputs, joinRules(rules.InForce(d)))
			}
			fmt.Fprintln(out, "\nJurisdictions:")
			for _, j := range p.Jurisdictions() {
				fmt.Fprintf(out, "  %s  %s (%s in %s)\n", j.ID, j.Name, j.Authority.Role, strings.Join(j.Authority.Countries, ", "))
			}
			fmt.Fprintln(out, "\nSources:")
			for _, s := range rules.Sources {
				fmt.Fprintf(out, "  %s  %s\n", s.ID, s.Title)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&at, "at", "", "instant: YYYY-MM-DD (start of the day, UTC) or RFC 3339; default now")
	cmd.Flags().StringVar(&file, "policy", "", "policy file (default: the embedded default policy)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// instantText writes a rule's instant as the file does, with the UTC
// instant after a zoned one: "2026-01-15T00:01 America/New_York (05:01 UTC)".
func instantText(i policy.Instant) string {
	if i.IsDay() {
		return i.String()
	}
	u := i.UTC()
	if l := i.Local(); l.YearDay() != u.YearDay() || l.Year() != u.Year() {
		return i.String() + " (" + u.Format("2006-01-02 15:04") + " UTC)"
	}
	return i.String() + " (" + u.Format("15:04") + " UTC)"
}

// joinRules writes rule ids for the text outputs.
func joinRules(ids []string) string {
	if len(ids) == 0 {
		return "-"
	}
	return strings.Join(ids, ", ")
}
