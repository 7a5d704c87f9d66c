package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/chipgate/chipgate/internal/domain"
)

const productCols = "id, slug, name, family, spec, launch_date, created_at"

func scanProduct(sc interface{ Scan(...any) error }) (domain.Product, error) {
	var p domain.Product
	var spec []byte
	var launch, created dbTime
	if err := sc.Scan(&p.ID, &p.Slug, &p.Name, &p.Family, &spec, &launch, &created); err != nil {
		return p, err
	}
	p.LaunchDate, p.CreatedAt = launch.T, created.T
	if err := json.Unmarshal(spec, &p.Spec); err != nil {
		return p, fmt.Errorf("product %s spec: %w", p.Slug, err)
	}
	return p, nil
}

func (t *tx) CreateProduct(ctx context.Context, p *domain.Product) error {
	spec, err := json.Marshal(p.Spec)
	if err != nil {
		return t.s.wrap("create product", err)
	}
	_, err = t.exec(ctx, "create product", "INSERT INTO products ("+productCols+") VALUES (?, ?, ?, ?, ?, ?, ?)",
		p.ID, p.Slug, p.Name, p.Family, spec, t.time(p.LaunchDate), t.time(p.CreatedAt))
	if domain.ErrorCode(err) == domain.ECONFLICT {
		return domain.Errorf(domain.ECONFLICT, "product slug %q is taken", p.Slug)
	}
	return err
}

func (t *tx) Product(ctx context.Context, id domain.ID) (domain.Product, error) {
	p, err := scanProduct(t.queryRow(ctx, "SELECT "+productCols+" FROM products WHERE id = ?", id))
	return p, t.notFound(err, "product %s not found", id)
}

func (t *tx) ProductBySlug(ctx context.Context, slug string) (domain.Product, error) {
	p, err := scanProduct(t.queryRow(ctx, "SELECT "+productCols+" FROM products WHERE slug = ?", slug))
	return p, t.notFound(err, "product %q not found", slug)
}

func (t *tx) Products(ctx context.Context) ([]domain.Product, error) {
	var out []domain.Product
	err := t.queryRows(ctx, "list products", "SELECT "+productCols+" FROM products ORDER BY launch_date, "+t.byteOrder("slug"), func(r *sql.Rows) error {
		p, err := scanProduct(r)
		out = append(out, p)
		return err
	})
	return out, err
}

const lotCols = "id, product_id, number, quantity, origin, made_on, available_on, created_at"

// lotReadCols are lotCols and the units shipped, which only shipments write.
const lotReadCols = lotCols + ", shipped"

func scanLot(sc interface{ Scan(...any) error }) (domain.Lot, error) {
	var l domain.Lot
	var made, avail, created dbTime
	err := sc.Scan(&l.ID, &l.ProductID, &l.Number, &l.Quantity, &l.Origin, &made, &avail, &created, &l.Shipped)
	l.MadeOn, l.AvailableOn, l.CreatedAt = made.T, avail.T, created.T
	return l, err
}

func (t *tx) CreateLot(ctx context.Context, l *domain.Lot) error {
	_, err := t.exec(ctx, "create lot", "INSERT INTO lots ("+lotCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		l.ID, l.ProductID, l.Number, l.Quantity, l.Origin, t.time(l.MadeOn), t.time(l.AvailableOn), t.time(l.CreatedAt))
	if domain.ErrorCode(err) == domain.ECONFLICT {
		return domain.Errorf(domain.ECONFLICT, "lot %q of this product already exists", l.Number)
	}
	return err
}

func (t *tx) Lots(ctx context.Context, productID domain.ID) ([]domain.Lot, error) {
	var out []domain.Lot
	scan := func(r *sql.Rows) error {
		l, err := scanLot(r)
		out = append(out, l)
		return err
	}
	if productID == (domain.ID{}) {
		return out, t.queryRows(ctx, "list lots", "SELECT "+lotReadCols+" FROM lots ORDER BY available_on, "+t.byteOrder("number"), scan)
	}
	return out, t.queryRows(ctx, "list lots", "SELECT "+lotReadCols+" FROM lots WHERE product_id = ? ORDER BY available_on, "+t.byteOrder("number"), scan, productID)
}

// ShipFromLot takes units out of a lot, refusing (ECONFLICT) to take more
// than it has left. The check and the update are one statement, so
// concurrent shipments can never over-use a lot on either backend.
func (t *tx) ShipFromLot(ctx context.Context, lot domain.ID, units int64) error {
	res, err := t.exec(ctx, "ship from lot", "UPDATE lots SET shipped = shipped + ? WHERE id = ? AND shipped + ? <= quantity", units, lot, units)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return t.s.wrap("ship from lot", err)
	}
	if n == 0 {
		var qty, shipped int64
		if err := t.queryRow(ctx, "SELECT quantity, shipped FROM lots WHERE id = ?", lot).Scan(&qty, &shipped); err != nil {
			return t.notFound(err, "lot %s not found", lot)
		}
		return domain.Errorf(domain.ECONFLICT, "lot has %d of %d units left, fewer than %d", qty-shipped, qty, units)
	}
	return nil
}
