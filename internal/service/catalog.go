package service

import (
	"context"
	"strings"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/store"
)

func parseID(s string) (domain.ID, error) { return domain.ParseID(s) }

// Products lists the catalog. Callers: every role.
func (s *Service) Products(ctx context.Context, who domain.Actor) ([]domain.Product, error) {
	if err := authorize(who, ActProductRead); err != nil {
		return nil, err
	}
	return viewOf(ctx, s.store, func(tx store.Tx) ([]domain.Product, error) {
		return tx.Products(ctx)
	})
}

// Product returns a product by id or slug. Callers: every role. Returns
// ENOTFOUND for an unknown product.
func (s *Service) Product(ctx context.Context, who domain.Actor, idOrSlug string) (domain.Product, error) {
	if err := authorize(who, ActProductRead); err != nil {
		return domain.Product{}, err
	}
	return viewOf(ctx, s.store, func(tx store.Tx) (domain.Product, error) {
		return productByRef(ctx, tx, idOrSlug)
	})
}

func productByRef(ctx context.Context, tx store.Tx, ref string) (domain.Product, error) {
	if id, err := parseID(ref); err == nil {
		return tx.Product(ctx, id)
	}
	if !domain.ValidSlug(ref) {
		return domain.Product{}, domain.Errorf(domain.ENOTFOUND, "product %q not found", ref)
	}
	return tx.ProductBySlug(ctx, ref)
}

// committedProduct returns a product by id or slug from committed data,
// from the cache when it has been read before. Orders, the hottest command,
// look their product up here before they queue for the writer.
func (s *Service) committedProduct(ctx context.Context, ref string) (domain.Product, error) {
	if p, ok := s.products.Load(ref); ok {
		return p.(domain.Product), nil
	}
	p, err := viewOf(ctx, s.store, func(tx store.Tx) (domain.Product, error) {
		return productByRef(ctx, tx, ref)
	})
	if err != nil {
		return domain.Product{}, err
	}
	s.products.Store(p.Slug, p)
	s.products.Store(p.ID.String(), p)
	return p, nil
}

// committedParty returns a party from committed data, from the cache when
// it has been read before.
func (s *Service) committedParty(ctx context.Context, id domain.ID) (domain.Party, error) {
	if p, ok := s.parties.Load(id); ok {
		return p.(domain.Party), nil
	}
	p, err := viewOf(ctx, s.store, func(tx store.Tx) (domain.Party, error) {
		return tx.Party(ctx, id)
	})
	if err != nil {
		return domain.Party{}, err
	}
	s.parties.Store(id, p)
	return p, nil
}

// ProductRequest registers a product in the catalog.
type ProductRequest struct {
	Slug       string      `json:"slug"`
	Name       string      `json:"name"`
	Family     string      `json:"family"`
	Spec       domain.Spec `json:"spec"`
	LaunchDate string      `json:"launch_date"` // YYYY-MM-DD
}

// CreateProduct adds a product. Callers: the vendor and the operator;
// EFORBIDDEN for anyone else. Returns EINVALID naming the field (slug, name,
// family, launch_date, spec.…), ECONFLICT for a taken slug.
func (s *Service) CreateProduct(ctx context.Context, who domain.Actor, in ProductRequest) (domain.Product, error) {
	if err := authorizeWork(who, ActProductCreate, routineWork); err != nil {
		return domain.Product{}, err
	}
	launch, err := time.Parse(time.DateOnly, in.LaunchDate)
	if err != nil {
		return domain.Product{}, domain.Invalid("launch_date", "must be a date YYYY-MM-DD")
	}
	p := domain.Product{ID: newID(), Slug: in.Slug, Name: strings.TrimSpace(in.Name), Family: strings.TrimSpace(in.Family), Spec: in.Spec, LaunchDate: launch, CreatedAt: s.Now()}
	if err := p.Validate(); err != nil {
		return domain.Product{}, err
	}
	if err := storable("name", p.Name, "family", p.Family); err != nil {
		return domain.Product{}, err
	}
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		if err := tx.CreateProduct(ctx, &p); err != nil {
			return err
		}
		return s.record(ctx, tx, who, p.CreatedAt, "product.created", "product", p.ID.String(), p)
	})
	return p, err
}

// LotRequest registers a production lot.
type LotRequest struct {
	Product     string `json:"product"` // id or slug
	Number      string `json:"number"`
	Quantity    int64  `json:"quantity"`
	Origin      string `json:"origin"`
	MadeOn      string `json:"made_on"`      // YYYY-MM-DD
	AvailableOn string `json:"available_on"` // YYYY-MM-DD
}

// CreateLot registers a production lot. Callers: the vendor and the operator;
// EFORBIDDEN for anyone else. Returns EINVALID naming the field for a bad
// lot, ENOTFOUND for an unknown product, ECONFLICT for a lot number already
// used for the product.
func (s *Service) CreateLot(ctx context.Context, who domain.Actor, in LotRequest) (domain.Lot, error) {
	if err := authorizeWork(who, ActLotCreate, routineWork); err != nil {
		return domain.Lot{}, err
	}
	var pr domain.Problems
	made, err := time.Parse(time.DateOnly, in.MadeOn)
	if err != nil {
		pr.Add("made_on", "must be a date YYYY-MM-DD")
	}
	avail, err := time.Parse(time.DateOnly, in.AvailableOn)
	if err != nil {
		pr.Add("available_on", "must be a date YYYY-MM-DD")
	}
	if err := pr.Err(); err != nil {
		return domain.Lot{}, err
	}
	l := domain.Lot{ID: newID(), Number: strings.TrimSpace(in.Number), Quantity: in.Quantity, Origin: in.Origin, MadeOn: made, AvailableOn: avail, CreatedAt: s.Now()}
	if err := storable("number", l.Number); err != nil {
		return domain.Lot{}, err
	}
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		p, err := productByRef(ctx, tx, in.Product)
		if err != nil {
			return err
		}
		l.ProductID = p.ID
		if err := l.Validate(); err != nil {
			return err
		}
		if err := tx.CreateLot(ctx, &l); err != nil {
			return err
		}
		return s.record(ctx, tx, who, l.CreatedAt, "lot.created", "lot", l.ID.String(), l)
	})
	return l, err
}

// Lots lists production lots, of one product or of all (ref ""). Callers:
// the vendor and the authorities; EFORBIDDEN for anyone else. Returns
// ENOTFOUND for an unknown product.
func (s *Service) Lots(ctx context.Context, who domain.Actor, productRef string) ([]domain.Lot, error) {
	if err := authorize(who, ActLotRead); err != nil {
		return nil, err
	}
	var out []domain.Lot
	err := s.store.View(ctx, func(tx store.Tx) error {
		var pid domain.ID
		if productRef != "" {
			p, err := productByRef(ctx, tx, productRef)
			if err != nil {
				return err
			}
			pid = p.ID
		}
		var err error
		out, err = tx.Lots(ctx, pid)
		return err
	})
	return out, err
}
