package domain

import (
	"strconv"
	"strings"
	"time"
)

// Throughput is a chip's dense (not sparse) peak throughput at one bit
// length, in tera-operations per second. For ECCN 3A090 the figure counts
// a multiply-accumulate as two operations.
type Throughput struct {
	Bits      int     `json:"bits" yaml:"bits"`
	DenseTOPS float64 `json:"dense_tops" yaml:"dense_tops"`
}

// Spec is what an export rule needs to know about a chip, or about a
// system by the chips it contains.
type Spec struct {
	Throughput []Throughput `json:"throughput" yaml:"throughput"`
	// DieAreaMM2 is the applicable die area in mm², for performance density.
	DieAreaMM2 float64 `json:"die_area_mm2" yaml:"die_area_mm2"`
	MemoryGB   int     `json:"memory_gb" yaml:"memory_gb"`
	// BandwidthGBps is the total DRAM bandwidth in GB/s.
	BandwidthGBps int `json:"bandwidth_gbps" yaml:"bandwidth_gbps"`
	// NotDataCenter is true for an IC not designed or marketed for data
	// centers (the Note to 3A090 puts those below 4,800 TPP outside it).
	// The zero value, a data-center part, is the conservative reading and
	// what every spec stored before the field existed meant.
	NotDataCenter bool `json:"not_data_center,omitempty" yaml:"not_data_center,omitempty"`
	// Accelerators is 0 for an IC. Above 0 the product is a computer, an
	// electronic assembly or a component containing that many ICs (ECCN
	// 4A090, an 8-GPU HGX board), and the fields above describe each of
	// them: rules read a system by the ICs it contains, and a lab tests
	// one of them.
	Accelerators int `json:"accelerators,omitempty" yaml:"accelerators,omitempty"`
}

// MaxAccelerators bounds the ICs a system spec may say it contains.
const MaxAccelerators = 100_000

// Validate returns EINVALID naming the first bad field.
func (s *Spec) Validate() error {
	var pr Problems
	s.problems(&pr, "")
	return pr.Err()
}

func (s *Spec) problems(pr *Problems, prefix string) {
	if len(s.Throughput) == 0 {
		pr.Add(prefix+"throughput", "at least one bit length required")
	}
	seen := map[int]bool{}
	for i, t := range s.Throughput {
		p := prefix + "throughput[" + strconv.Itoa(i) + "]"
		switch t.Bits {
		case 4, 8, 16, 32, 64:
		default:
			pr.Add(p+".bits", "must be 4, 8, 16, 32 or 64")
		}
		if seen[t.Bits] {
			pr.Add(p+".bits", "bit length %d listed twice", t.Bits)
		}
		seen[t.Bits] = true
		if !(t.DenseTOPS > 0 && t.DenseTOPS < 1e7) {
			pr.Add(p+".dense_tops", "must be positive and below 10,000,000")
		}
	}
	if !(s.DieAreaMM2 > 0 && s.DieAreaMM2 < 1e5) {
		pr.Add(prefix+"die_area_mm2", "must be positive and below 100,000")
	}
	if s.MemoryGB < 0 || s.MemoryGB > 1e6 {
		pr.Add(prefix+"memory_gb", "must be between 0 and 1,000,000")
	}
	if s.BandwidthGBps < 0 || s.BandwidthGBps > 1e8 {
		pr.Add(prefix+"bandwidth_gbps", "must be between 0 and 100,000,000")
	}
	if s.Accelerators < 0 || s.Accelerators > MaxAccelerators {
		pr.Add(prefix+"accelerators", "must be between 0 (an IC) and 100,000")
	}
}

// Product is a chip in the vendor's catalog.
type Product struct {
	ID     ID     `json:"id"`
	Slug   string `json:"slug"` // "h200"
	Name   string `json:"name"` // "NVIDIA H200 SXM"
	Family string `json:"family"`
	Spec   Spec   `json:"spec"`
	// LaunchDate is the day the product became commercially available in the US.
	LaunchDate time.Time `json:"launch_date"`
	CreatedAt  time.Time `json:"created_at"`
}

// Validate returns EINVALID naming the first bad field.
func (p *Product) Validate() error {
	var pr Problems
	if !ValidSlug(p.Slug) {
		pr.Add("slug", "must be 1-63 lower-case letters, digits or dashes")
	}
	if strings.TrimSpace(p.Name) == "" {
		pr.Add("name", "required")
	}
	if strings.TrimSpace(p.Family) == "" {
		pr.Add("family", "required")
	}
	if p.LaunchDate.IsZero() {
		pr.Add("launch_date", "required")
	}
	p.Spec.problems(&pr, "spec.")
	return pr.Err()
}

// Lot is a production lot of one product.
type Lot struct {
	ID        ID     `json:"id"`
	ProductID ID     `json:"product_id"`
	Number    string `json:"number"` // the vendor's lot number
	Quantity  int64  `json:"quantity"`
	// Origin is the ISO country code where the lot was made (TW for TSMC).
	Origin      string    `json:"origin"`
	MadeOn      time.Time `json:"made_on"`
	AvailableOn time.Time `json:"available_on"`
	CreatedAt   time.Time `json:"created_at"`
	// Shipped counts the units shipped from the lot so far; the store keeps
	// it (a shipment draws on it in its transaction) and it never exceeds
	// Quantity.
	Shipped int64 `json:"shipped"`
}

// Validate returns EINVALID naming the first bad field.
func (l *Lot) Validate() error {
	var pr Problems
	if l.ProductID == (ID{}) {
		pr.Add("product_id", "required")
	}
	if strings.TrimSpace(l.Number) == "" || len(l.Number) > 100 {
		pr.Add("number", "required, at most 100 bytes")
	}
	if l.Quantity <= 0 || l.Quantity > 1e9 {
		pr.Add("quantity", "must be between 1 and 1,000,000,000")
	}
	if !ValidCountry(l.Origin) {
		pr.Add("origin", "must be an ISO 3166-1 alpha-2 code")
	}
	if l.MadeOn.IsZero() {
		pr.Add("made_on", "required")
	}
	if l.AvailableOn.Before(l.MadeOn) {
		pr.Add("available_on", "must not be before made_on")
	}
	return pr.Err()
}
