package policy

import "go.yaml.in/yaml/v3"

// LedgerSettings are the policy's demands on the tamper-evident ledger, a
// top-level block of the policy file:
//
//	ledger:
//	  witnesses: 2
//
// Witnesses is how many independent witnesses (chipgate witness, run by
// other parties) must cosign a checkpoint: "serve" starts only with at
// least that many configured, and "ledger audit" accepts an export only if
// its latest checkpoint carries that many valid cosignatures. 0 trusts the
// log's own signature alone. The setting is not versioned in time like the
// rules: it is how much the program trusts its own operator.
type LedgerSettings struct {
	Witnesses int `yaml:"witnesses" json:"witnesses"`
}

// maxWitnesses bounds the setting: more cosignatures than a note can carry
// (100 signatures) is a typo.
const maxWitnesses = 50

// Ledger returns the policy's ledger settings (zero when the file has none).
func (p *Policy) Ledger() LedgerSettings { return p.ledger }

// checkLedger validates the ledger block and sets it on p.
func (l *loader) checkLedger(root *yaml.Node, s *LedgerSettings, p *Policy) {
	if s == nil {
		return
	}
	if s.Witnesses < 0 || s.Witnesses > maxWitnesses {
		line := 0
		if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
			top := root.Content[0]
			for i := 0; i+1 < len(top.Content); i += 2 {
				if top.Content[i].Value == "ledger" {
					line = top.Content[i].Line
				}
			}
		}
		l.add(line, "", "ledger.witnesses: must be between 0 and %d", maxWitnesses)
		return
	}
	p.ledger = *s
}
