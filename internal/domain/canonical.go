package domain

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// CanonicalJSON encodes v as the canonical JSON chipgate records in the audit
// log: object keys sorted bytewise, no insignificant whitespace, no HTML
// escaping, numbers written as encoding/json writes them. Two encodings of
// equal values are equal bytes, so a record's hash does not depend on Go's
// struct field order.
func CanonicalJSON(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("canonical json: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		return nil, fmt.Errorf("canonical json: %w", err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	// encoding/json writes map keys sorted, which is what makes this canonical.
	if err := enc.Encode(generic); err != nil {
		return nil, fmt.Errorf("canonical json: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
