package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/chipgate/chipgate/internal/catalog"
	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/policy"
)

// specFile is a chip described in JSON for `chipgate classify --spec`.
type specFile struct {
	Product string `json:"product"`
	domain.Spec
	// LaunchDate is the day the chip became commercially available in the
	// US; without it rules that ask are not met.
	LaunchDate string `json:"launch_date"`
}

func newClassifyCmd() *cobra.Command {
	var (
		at     string
		file   string
		spec   string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "classify [--json] [--at DATE] [--policy FILE] PRODUCT... | --spec FILE",
		Short: "Classify chips: TPP, performance density, ECCN and status per destination",
		Long: `Classify catalog products (h20, h200, b200, rubin, hgx-h200) or a chip described in JSON
under the rules in force at --at (default now): TPP (the highest dense TOPS × bit
length), performance density (TPP / die area), ECCN, and for the destinations US,
CN, MO and default the status no_license_required, license_required (case-by-case
review) or denied, with the rule ids behind it.

--spec FILE (- for standard input) reads
  {"product": "mychip", "throughput": [{"bits": 8, "dense_tops": 1979}],
   "die_area_mm2": 814, "memory_gb": 141, "bandwidth_gbps": 4800,
   "launch_date": "2024-06-01"}
adding "not_data_center": true for an IC not designed or marketed for data
centers, or "accelerators": 8 for a system of eight such ICs (4A090).
With --json each chip is printed as one line:
  {"product": ..., "tpp": ..., "pd": ..., "eccn": ...,
   "destinations": {"CN": {"status": ..., "rules": [...], "reasons": [...]}, ...}}`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if (len(args) == 0) == (spec == "") {
				return domain.Errorf(domain.EINVALID, "give catalog products as arguments or --spec FILE, not both or neither")
			}
			t, err := parseInstant(at)
			if err != nil {
				return err
			}
			p, err := readPolicy(file)
			if err != nil {
				return err
			}
			rules := p.At(t)
			var out []policy.Classification
			if spec != "" {
				c, err := classifySpecFile(rules, spec, cmd.InOrStdin())
				if err != nil {
					return err
				}
				out = append(out, c)
			}
			for _, slug := range args {
				prod, err := catalog.Product(strings.ToLower(slug))
				if err != nil {
					return err
				}
				out = append(out, rules.ClassifyProduct(prod))
			}
			w := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(w)
				enc.SetEscapeHTML(false)
				for _, c := range out {
					if err := enc.Encode(c); err != nil {
						return err
					}
				}
				return nil
			}
			for i, c := range out {
				if i > 0 {
					fmt.Fprintln(w)
				}
				printClassification(w, c)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&at, "at", "", "instant: YYYY-MM-DD (start of the day, UTC) or RFC 3339; default now")
	cmd.Flags().StringVar(&file, "policy", "", "policy file (default: the embedded default policy)")
	cmd.Flags().StringVar(&spec, "spec", "", "JSON file describing a chip (- for standard input)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per chip")
	return cmd
}

func classifySpecFile(rules policy.Rules, path string, stdin io.Reader) (policy.Classification, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(io.LimitReader(stdin, 1<<20))
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return policy.Classification{}, domain.Errorf(domain.EINVALID, "spec file: %v", err)
	}
	var sf specFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sf); err != nil {
		return policy.Classification{}, domain.Errorf(domain.EINVALID, "spec file %s: %v", path, err)
	}
	if err := sf.Spec.Validate(); err != nil {
		return policy.Classification{}, fmt.Errorf("spec file %s: %w", path, err)
	}
	var launch time.Time
	if sf.LaunchDate != "" {
		d, err := policy.ParseDate(sf.LaunchDate)
		if err != nil {
			return policy.Classification{}, domain.Invalid("launch_date", "%v", err)
		}
		launch = d.Time
	}
	c := rules.Classify(sf.Spec, launch)
	c.Product = sf.Product
	if c.Product == "" && path != "-" {
		c.Product = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	return c, nil
}

func printClassification(w io.Writer, c policy.Classification) {
	each := ""
	if c.Accelerators > 0 {
		each = fmt.Sprintf(" (each of %d ICs)", c.Accelerators)
	}
	fmt.Fprintf(w, "%s: TPP %s, PD %s%s, ECCN %s (%s)\n", c.Product, policy.Figure(c.TPP), policy.Figure(c.PD), each, c.ECCN, c.Basis)
	for _, d := range policy.ClassifiedDestinations {
		st := c.Destinations[d]
		fmt.Fprintf(w, "  %-8s %-20s %s\n", d, st.Status, joinRules(st.Rules))
		for _, r := range st.Reasons {
			fmt.Fprintf(w, "           %s\n", r.Message)
		}
	}
}
