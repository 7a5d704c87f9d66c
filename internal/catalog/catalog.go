// Package catalog holds the vendor's product catalog as data: the chips the
// program names (H20, H200, B200, Rubin) and an 8-GPU HGX H200 system, with
// the specifications export rules read. The demo loads it; `chipgate classify` looks products up in it.
package catalog

import (
	"bytes"
	_ "embed"
	"fmt"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"go.yaml.in/yaml/v3"
)

//go:embed products.yaml
var productsYAML []byte

type file struct {
	Products []struct {
		Slug       string      `yaml:"slug"`
		Name       string      `yaml:"name"`
		Family     string      `yaml:"family"`
		LaunchDate string      `yaml:"launch_date"`
		Spec       domain.Spec `yaml:"spec"`
	} `yaml:"products"`
}

// Products returns the catalog's products, validated, in file order. IDs and
// creation times are left zero for the caller to assign.
func Products() ([]domain.Product, error) {
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(productsYAML))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("catalog: products.yaml: %w", err)
	}
	out := make([]domain.Product, 0, len(f.Products))
	for i, p := range f.Products {
		launch, err := time.Parse(time.DateOnly, p.LaunchDate)
		if err != nil {
			return nil, fmt.Errorf("catalog: products[%d].launch_date: %w", i, err)
		}
		prod := domain.Product{Slug: p.Slug, Name: p.Name, Family: p.Family, Spec: p.Spec, LaunchDate: launch}
		if err := prod.Validate(); err != nil {
			return nil, fmt.Errorf("catalog: products[%d]: %w", i, err)
		}
		out = append(out, prod)
	}
	return out, nil
}

// Product returns the catalog product with the slug, or ENOTFOUND.
func Product(slug string) (domain.Product, error) {
	ps, err := Products()
	if err != nil {
		return domain.Product{}, err
	}
	for _, p := range ps {
		if p.Slug == slug {
			return p, nil
		}
	}
	return domain.Product{}, domain.Errorf(domain.ENOTFOUND, "product %q is not in the catalog", slug)
}
