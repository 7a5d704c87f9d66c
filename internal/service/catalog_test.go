package service_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
)

// everyRole is the callers of the catalog's reads and the program's rules.
var everyRole = domain.Roles

func TestProducts(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		t.Run("OK", func(t *testing.T) {
			for _, r := range everyRole {
				ps, err := e.svc.Products(e.ctx, e.as(castOf[r]))
				if err != nil || len(ps) < 4 {
					t.Fatalf("%s lists %d products, %v", r, len(ps), err)
				}
			}
		})
	})
}

func TestProduct(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		h200, err := e.svc.Product(e.ctx, e.as("auditor"), "h200")
		must(t, err)
		t.Run("OK", func(t *testing.T) {
			for _, r := range everyRole {
				p, err := e.svc.Product(e.ctx, e.as(castOf[r]), h200.ID.String())
				if err != nil || p.Slug != "h200" {
					t.Fatalf("%s reads h200 by id: %+v, %v", r, p, err)
				}
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			for _, ref := range []string{"h999", "Not A Slug", uuid.NewString()} {
				_, err := e.svc.Product(e.ctx, e.as("nvidia"), ref)
				wantCode(t, err, domain.ENOTFOUND)
			}
		})
	})
}

func TestCreateProduct(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		h200, err := e.svc.Product(e.ctx, e.as("nvidia"), "h200")
		must(t, err)
		req := func(slug string) service.ProductRequest {
			return service.ProductRequest{Slug: slug, Name: " NVIDIA H20 refresh ", Family: "Hopper", Spec: h200.Spec, LaunchDate: "2026-03-01"}
		}
		t.Run("OK", func(t *testing.T) {
			for i, who := range []domain.Actor{e.as("nvidia"), domain.SystemActor} {
				slug := []string{"h20r", "h20s"}[i]
				before := e.auditSize(t)
				p, err := e.svc.CreateProduct(e.ctx, who, req(slug))
				must(t, err)
				if p.Name != "NVIDIA H20 refresh" || p.LaunchDate.Format(time.DateOnly) != "2026-03-01" {
					t.Fatalf("product %+v", p)
				}
				if got, err := e.svc.Product(e.ctx, e.as("auditor"), slug); err != nil || got.ID != p.ID {
					t.Fatalf("read back: %+v, %v", got, err)
				}
				rec := e.recorded(t, before, who, "product.created")[0]
				if rec.SubjectID != p.ID.String() || payload[domain.Product](t, rec).Slug != slug {
					t.Fatalf("record %s", rec.Payload)
				}
			}
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			e.refused(t, []domain.Role{domain.RoleVendor}, func(who domain.Actor) error {
				_, err := e.svc.CreateProduct(e.ctx, who, req("h20x"))
				return err
			})
		})
		bad := func(edit func(*service.ProductRequest)) service.ProductRequest {
			r := req("h20y")
			r.Spec.Throughput = append([]domain.Throughput(nil), r.Spec.Throughput...)
			edit(&r)
			return r
		}
		for _, c := range []struct {
			name string
			in   service.ProductRequest
			path string
		}{
			{"ErrLaunchDateInvalid", bad(func(r *service.ProductRequest) { r.LaunchDate = "March 2026" }), "launch_date"},
			{"ErrSlugInvalid", bad(func(r *service.ProductRequest) { r.Slug = "H20/Y" }), "slug"},
			{"ErrNameRequired", bad(func(r *service.ProductRequest) { r.Name = " " }), "name"},
			{"ErrFamilyRequired", bad(func(r *service.ProductRequest) { r.Family = "" }), "family"},
			{"ErrNameNUL", bad(func(r *service.ProductRequest) { r.Name = "H20\x00" }), "name"},
			{"ErrFamilyNUL", bad(func(r *service.ProductRequest) { r.Family = "Hop\x00per" }), "family"},
			{"ErrThroughputRequired", bad(func(r *service.ProductRequest) { r.Spec.Throughput = nil }), "spec.throughput"},
			{"ErrBitsInvalid", bad(func(r *service.ProductRequest) { r.Spec.Throughput[0].Bits = 7 }), "spec.throughput[0].bits"},
			{"ErrDieAreaInvalid", bad(func(r *service.ProductRequest) { r.Spec.DieAreaMM2 = 0 }), "spec.die_area_mm2"},
			{"ErrBandwidthInvalid", bad(func(r *service.ProductRequest) { r.Spec.BandwidthGBps = -1 }), "spec.bandwidth_gbps"},
		} {
			t.Run(c.name, func(t *testing.T) {
				before := e.auditSize(t)
				_, err := e.svc.CreateProduct(e.ctx, e.as("nvidia"), c.in)
				wantInvalid(t, err, c.path)
				e.unchanged(t, before)
			})
		}
		t.Run("ErrSlugTaken", func(t *testing.T) {
			before := e.auditSize(t)
			_, err := e.svc.CreateProduct(e.ctx, e.as("nvidia"), req("h200"))
			wantCode(t, err, domain.ECONFLICT)
			e.unchanged(t, before)
		})
	})
}

func TestCreateLot(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		lot := func(number string) service.LotRequest {
			return service.LotRequest{Product: "h200", Number: number, Quantity: 500, Origin: "TW", MadeOn: "2026-02-01", AvailableOn: "2026-02-15"}
		}
		t.Run("OK", func(t *testing.T) {
			for i, who := range []domain.Actor{e.as("nvidia"), domain.SystemActor} {
				in := lot([]string{" TW-EXTRA-1 ", "TW-EXTRA-2"}[i])
				before := e.auditSize(t)
				l, err := e.svc.CreateLot(e.ctx, who, in)
				must(t, err)
				if l.Number != strings.TrimSpace(in.Number) || l.Quantity != 500 || l.Shipped != 0 || l.AvailableOn.Format(time.DateOnly) != "2026-02-15" {
					t.Fatalf("lot %+v", l)
				}
				rec := e.recorded(t, before, who, "lot.created")[0]
				if rec.SubjectID != l.ID.String() || payload[domain.Lot](t, rec).ProductID != l.ProductID {
					t.Fatalf("record %s", rec.Payload)
				}
			}
			lots, err := e.svc.Lots(e.ctx, e.as("us-commerce"), "h200")
			must(t, err)
			if n := len(lots); n != 54 {
				t.Fatalf("%d h200 lots, want the demo's 52 and two", n)
			}
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			e.refused(t, []domain.Role{domain.RoleVendor}, func(who domain.Actor) error {
				_, err := e.svc.CreateLot(e.ctx, who, lot("TW-ROGUE"))
				return err
			})
		})
		t.Run("ErrProductNotFound", func(t *testing.T) {
			in := lot("TW-X")
			in.Product = "h999"
			_, err := e.svc.CreateLot(e.ctx, e.as("nvidia"), in)
			wantCode(t, err, domain.ENOTFOUND)
		})
		for _, c := range []struct {
			name string
			edit func(*service.LotRequest)
			path string
		}{
			{"ErrMadeOnInvalid", func(r *service.LotRequest) { r.MadeOn = "" }, "made_on"},
			{"ErrAvailableOnInvalid", func(r *service.LotRequest) { r.AvailableOn = "15/02/2026" }, "available_on"},
			{"ErrAvailableBeforeMade", func(r *service.LotRequest) { r.AvailableOn = "2026-01-31" }, "available_on"},
			{"ErrNumberRequired", func(r *service.LotRequest) { r.Number = " " }, "number"},
			{"ErrNumberNUL", func(r *service.LotRequest) { r.Number = "TW-\x00" }, "number"},
			{"ErrQuantityInvalid", func(r *service.LotRequest) { r.Quantity = 0 }, "quantity"},
			{"ErrOriginInvalid", func(r *service.LotRequest) { r.Origin = "Taiwan" }, "origin"},
		} {
			t.Run(c.name, func(t *testing.T) {
				in := lot("TW-BAD")
				c.edit(&in)
				before := e.auditSize(t)
				_, err := e.svc.CreateLot(e.ctx, e.as("nvidia"), in)
				wantInvalid(t, err, c.path)
				e.unchanged(t, before)
			})
		}
		t.Run("ErrNumberTaken", func(t *testing.T) {
			before := e.auditSize(t)
			_, err := e.svc.CreateLot(e.ctx, e.as("nvidia"), lot(firstLot))
			wantCode(t, err, domain.ECONFLICT)
			e.unchanged(t, before)
		})
	})
}

func TestLots(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		readers := []domain.Role{domain.RoleVendor, domain.RoleExportAuthority, domain.RoleImportAuthority}
		t.Run("OK", func(t *testing.T) {
			for _, r := range readers {
				lots, err := e.svc.Lots(e.ctx, e.as(castOf[r]), "")
				if err != nil || len(lots) != 52 {
					t.Fatalf("%s lists %d lots, %v", r, len(lots), err)
				}
			}
			if lots, err := e.svc.Lots(e.ctx, e.as("nvidia"), "b200"); err != nil || len(lots) != 0 {
				t.Fatalf("b200 lots: %d, %v", len(lots), err)
			}
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			e.refused(t, readers, func(who domain.Actor) error {
				_, err := e.svc.Lots(e.ctx, who, "h200")
				return err
			})
		})
		t.Run("ErrProductNotFound", func(t *testing.T) {
			_, err := e.svc.Lots(e.ctx, e.as("nvidia"), "h999")
			wantCode(t, err, domain.ENOTFOUND)
		})
	})
}

func TestClassification(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		t.Run("OK", func(t *testing.T) {
			for _, r := range everyRole {
				c, err := e.svc.Classification(e.ctx, e.as(castOf[r]), "h200", "2026-02-01")
				if err != nil || c.TPP == 0 || len(c.Destinations) == 0 {
					t.Fatalf("%s: %+v, %v", r, c, err)
				}
			}
		})
		t.Run("ErrAtInvalid", func(t *testing.T) {
			_, err := e.svc.Classification(e.ctx, e.as("bytedance"), "h200", "yesterday")
			wantInvalid(t, err, "at")
		})
		t.Run("ErrProductNotFound", func(t *testing.T) {
			_, err := e.svc.Classification(e.ctx, e.as("bytedance"), "h999", "")
			wantCode(t, err, domain.ENOTFOUND)
		})
	})
}

func TestRulesAt(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		t.Run("OK", func(t *testing.T) {
			for _, r := range everyRole {
				if _, err := e.svc.RulesAt(e.ctx, e.as(castOf[r]), "2026-02-01T00:00:00Z"); err != nil {
					t.Fatalf("%s: %v", r, err)
				}
			}
		})
		t.Run("ErrAtInvalid", func(t *testing.T) {
			_, err := e.svc.RulesAt(e.ctx, e.as("auditor"), "2026-13-01")
			wantInvalid(t, err, "at")
		})
	})
}
