package sim

import (
	"fmt"
	"strconv"

	"go.yaml.in/yaml/v3"

	"github.com/chipgate/chipgate/internal/policy"
)

// A variant changes parameters, never code: it edits values in the policy
// file's YAML tree and loads the edited file with policy.Load, so that the
// loader validates the variant like any policy and the engines read it the
// way they read the real one. The policy package has no API to override a
// parameter, and this keeps it that way.

// patch is one edit of the policy tree: in every rule version with a
// parameter block of kind, set key to value, or drop the rule when remove.
type patch struct {
	field  string // the scenario field asking for it, for errors
	kind   string
	key    string
	value  string
	tag    string // "!!str" or "!!int"
	remove bool
}

// patches lists the edits a variant and the scenario's lab ask for.
func (v VariantSpec) patches(labCapacity int64) []patch {
	var ps []patch
	if labCapacity > 0 {
		ps = append(ps, patch{field: "lab.weekly_capacity", kind: "lab_test", key: "weekly_capacity_units", value: strconv.FormatInt(labCapacity, 10), tag: "!!int"})
	}
	if v.Duty != nil {
		ps = append(ps, patch{field: "duty", kind: "duty", key: "rate", value: *v.Duty, tag: "!!str"})
	}
	if v.CNCap != nil {
		if *v.CNCap == "none" {
			ps = append(ps, patch{field: "cn_cap", kind: "volume_cap", remove: true})
		} else {
			ps = append(ps, patch{field: "cn_cap", kind: "volume_cap", key: "share_of_us", value: *v.CNCap, tag: "!!str"})
		}
	}
	if v.MinLotAgeDays != nil {
		ps = append(ps, patch{field: "min_lot_age_days", kind: "lot_age", key: "min_days", value: strconv.Itoa(*v.MinLotAgeDays), tag: "!!int"})
	}
	if v.Reserve != nil {
		ps = append(ps, patch{field: "reserve", kind: "allocation", key: "reserve_share", value: *v.Reserve, tag: "!!str"})
	}
	return ps
}

// patchPolicy applies the patches to the policy file src and loads the
// result. A patch whose rule kind the policy lacks is an error naming the
// scenario field, rather than a variant that silently changes nothing.
func patchPolicy(name string, src []byte, ps []patch) (*policy.Policy, []byte, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(src, &root); err != nil {
		return nil, nil, fmt.Errorf("policy %s: %w", name, err)
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil, nil, fmt.Errorf("policy %s: not a mapping", name)
	}
	rules := mapValue(root.Content[0], "rules")
	if rules == nil || rules.Kind != yaml.SequenceNode {
		return nil, nil, fmt.Errorf("policy %s: no rules list", name)
	}
	for _, p := range ps {
		n := 0
		kept := rules.Content[:0:0]
		for _, r := range rules.Content {
			block := mapValue(r, p.kind)
			if block == nil {
				kept = append(kept, r)
				continue
			}
			n++
			if p.remove {
				continue
			}
			kept = append(kept, r)
			if block.Kind != yaml.MappingNode {
				return nil, nil, fmt.Errorf("policy %s: rule block %s at line %d is not a mapping", name, p.kind, block.Line)
			}
			if v := mapValue(block, p.key); v != nil {
				*v = yaml.Node{Kind: yaml.ScalarNode, Tag: p.tag, Value: p.value, Line: v.Line, Column: v.Column}
			} else {
				block.Content = append(block.Content,
					&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: p.key},
					&yaml.Node{Kind: yaml.ScalarNode, Tag: p.tag, Value: p.value})
			}
		}
		if n == 0 {
			return nil, nil, fmt.Errorf("%s: policy %s has no %s rule to change", p.field, name, p.kind)
		}
		rules.Content = kept
	}
	out, err := yaml.Marshal(&root)
	if err != nil {
		return nil, nil, fmt.Errorf("policy %s: %w", name, err)
	}
	pol, err := policy.Load(name, out)
	if err != nil {
		return nil, nil, err
	}
	return pol, out, nil
}

// mapValue returns the value of key in a mapping node, or nil.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}
