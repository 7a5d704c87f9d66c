package catalog_test

import (
	"testing"

	"github.com/chipgate/chipgate/internal/catalog"
	"github.com/chipgate/chipgate/internal/domain"
)

func TestProducts(t *testing.T) {
	ps, err := catalog.Products()
	if err != nil {
		t.Fatal(err)
	}
	var slugs []string
	for _, p := range ps {
		slugs = append(slugs, p.Slug)
	}
	want := []string{"h20", "h200", "b200", "rubin", "hgx-h200"}
	if len(slugs) != len(want) {
		t.Fatalf("slugs = %v, want %v", slugs, want)
	}
	for i := range want {
		if slugs[i] != want[i] {
			t.Fatalf("slugs = %v, want %v", slugs, want)
		}
	}
	h200, err := catalog.Product("h200")
	if err != nil {
		t.Fatal(err)
	}
	if h200.Spec.BandwidthGBps != 4800 || h200.Spec.DieAreaMM2 != 814 || h200.Spec.Throughput[0].DenseTOPS != 1979 {
		t.Fatalf("h200 spec = %+v", h200.Spec)
	}
	// The HGX board is a system of eight H200s: the same figures per IC.
	hgx, err := catalog.Product("hgx-h200")
	if err != nil {
		t.Fatal(err)
	}
	if hgx.Spec.Accelerators != 8 || hgx.Spec.BandwidthGBps != h200.Spec.BandwidthGBps || hgx.Spec.Throughput[0] != h200.Spec.Throughput[0] {
		t.Fatalf("hgx-h200 spec = %+v", hgx.Spec)
	}
	for _, p := range ps {
		if p.Spec.NotDataCenter {
			t.Errorf("%s is marked not for data centers; every catalog product is a data-center part", p.Slug)
		}
	}
	if _, err := catalog.Product("a100"); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Fatalf("unknown product: err = %v, want ENOTFOUND", err)
	}
}
