package policy

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// Keys of older policy formats. A file that still uses one is refused with
// what to write instead: an "unknown field" alone would not say that the
// meaning changed (inclusive bounds became exclusive ones, a parameter
// became a rule of its own).
var (
	windowRenamed = map[string]string{
		"tpp_min":            "duty windows are open intervals (S18: \"greater than 14,000 and less than 17,500\"): write tpp_above",
		"tpp_max":            "duty windows are open intervals (S18): write tpp_below",
		"bandwidth_min_gbps": "duty windows are open intervals (S18: \"greater than 4,500 and less than 5,000\" GB/s): write bandwidth_above_gbps",
		"bandwidth_max_gbps": "duty windows are open intervals (S18): write bandwidth_below_gbps",
	}
	criterionRenamed = map[string]string{
		"bandwidth_density_min": "3A090.c reads \"greater than\" 2 GB/s/mm² (S19): write bandwidth_density_above",
	}
	endUserRenamed = map[string]string{
		"affiliates_threshold": "the affiliates (50%) rule is a rule of its own since it has its own dates (S22): " +
			"write an affiliates rule, e.g. {id: end-user.affiliates, affiliates: {lists: [EL, MEU], threshold: \"50%\", on_owned: rejected}}",
	}
)

// nodeOf captures the node being decoded.
type nodeOf struct{ n *yaml.Node }

func (c *nodeOf) UnmarshalYAML(n *yaml.Node) error { c.n = n; return nil }

// decodeRenamed refuses the renamed keys of a mapping, each with its line
// and what to write instead, and otherwise decodes into v. It is called from
// the obsolete-style UnmarshalYAML(func(any) error), whose unmarshal
// function decodes with the loader's own decoder: unknown fields stay
// refused, which a yaml.Node's Decode would not do.
func decodeRenamed(unmarshal func(any) error, v any, renamed map[string]string) error {
	var c nodeOf
	if err := unmarshal(&c); err != nil {
		return err
	}
	if c.n != nil && c.n.Kind == yaml.MappingNode {
		var errs []string
		for i := 0; i+1 < len(c.n.Content); i += 2 {
			k := c.n.Content[i]
			if msg, ok := renamed[k.Value]; ok {
				errs = append(errs, fmt.Sprintf("line %d: %s is no longer read: %s", k.Line, k.Value, msg))
			}
		}
		if errs != nil {
			return &yaml.TypeError{Errors: errs}
		}
	}
	return unmarshal(v)
}

// UnmarshalYAML decodes a window, refusing the inclusive bounds of older
// files.
func (w *Window) UnmarshalYAML(unmarshal func(any) error) error {
	type window Window // without this method; named for the decoder's messages
	return decodeRenamed(unmarshal, (*window)(w), windowRenamed)
}

// UnmarshalYAML decodes a criterion, refusing bandwidth_density_min.
func (c *Criterion) UnmarshalYAML(unmarshal func(any) error) error {
	type criterion Criterion
	return decodeRenamed(unmarshal, (*criterion)(c), criterionRenamed)
}

// UnmarshalYAML decodes an end_user block, refusing affiliates_threshold.
func (p *EndUserParams) UnmarshalYAML(unmarshal func(any) error) error {
	type endUser EndUserParams
	return decodeRenamed(unmarshal, (*endUser)(p), endUserRenamed)
}
