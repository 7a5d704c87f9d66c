package domain_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/chipgate/chipgate/internal/domain"
)

// referenceCanonicalJSON is CanonicalJSON's definition, the slow way: encode,
// decode into generic values with numbers kept as written, encode again
// (encoding/json sorts map keys) without HTML escaping.
func referenceCanonicalJSON(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(generic); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func TestCanonicalJSONMatchesDefinition(t *testing.T) {
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	lic := uuid.MustParse("0190f000-0000-7000-8000-000000000001")
	values := map[string]any{
		"order": domain.Order{ID: uuid.MustParse("0190f000-0000-7000-8000-000000000002"), Buyer: "bytedance", Product: "h200",
			Quantity: 500, Period: "2026-03-02", EndUse: "commercial_ai <&> \u2028", PlacedAt: at, LicenseID: &lic, Status: domain.OrderAccepted},
		"party":     domain.Party{Slug: "harbin", Name: "哈尔滨工业大学 Harbin Institute of Technology", Role: domain.RoleBuyer, Country: "CN"},
		"unsorted":  map[string]any{"z": 1, "a": []any{map[string]any{"y": true, "b": nil}}, "m": "\x01\"\\"},
		"raw":       json.RawMessage(`{"b": 1.50, "a": "\u0041", "b": 2, "c": {"\u0062": 1, "a": 2}}`),
		"escapeKey": map[string]int{"é": 1, "e": 2, "\u2028": 3, "<": 4},
		"scalar":    "plain",
		"empty":     map[string]any{},
		"nested":    [][]map[string]int{{{"b": 1, "a": 2}}, {}},
		"invalid":   json.RawMessage("\"\xff\""),
	}
	for name, v := range values {
		want, werr := referenceCanonicalJSON(v)
		got, gerr := domain.CanonicalJSON(v)
		if (werr != nil) != (gerr != nil) {
			t.Fatalf("%s: errors differ: %v vs %v", name, gerr, werr)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
}

// FuzzCanonicalJSON checks the fast canonicalizer against its definition on
// any JSON document.
func FuzzCanonicalJSON(f *testing.F) {
	for _, s := range []string{`{"b":1,"a":2}`, `[{"z":[1,2,{"y":null,"x":"\u2029"}]},"\ud800"]`,
		`{"a":1,"a":{"c":1,"b":2}}`, `"<>&"`, `1e400`, `{"\u00e9":1,"\u0065\u0301":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) {
			return
		}
		want, werr := referenceCanonicalJSON(json.RawMessage(data))
		got, gerr := domain.CanonicalJSON(json.RawMessage(data))
		if (werr != nil) != (gerr != nil) {
			t.Fatalf("%q: errors differ: %v vs %v", data, gerr, werr)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%q:\n got %s\nwant %s", data, got, want)
		}
	})
}

func BenchmarkCanonicalJSON(b *testing.B) {
	lic := uuid.New()
	o := domain.Order{ID: uuid.New(), Buyer: "bytedance", Product: "h200", Quantity: 500, Period: "2026-03-02",
		EndUse: "commercial_ai", PlacedAt: time.Now(), LicenseID: &lic, Status: domain.OrderAccepted}
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			if _, err := domain.CanonicalJSON(o); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("reference", func(b *testing.B) {
		for b.Loop() {
			if _, err := referenceCanonicalJSON(o); err != nil {
				b.Fatal(err)
			}
		}
	})
}
