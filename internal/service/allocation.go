package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/chipgate/chipgate/internal/allocation"
	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/policy"
	"github.com/chipgate/chipgate/internal/store"
)

// AllocationRunRequest starts an allocation run over a horizon.
type AllocationRunRequest struct {
	// Start is the first day of period 0 (YYYY-MM-DD); default: the Monday
	// of the current week.
	Start string `json:"start,omitempty"`
	// Periods and PeriodDays shape the horizon; defaults 52 and 7.
	Periods    int `json:"periods,omitempty"`
	PeriodDays int `json:"period_days,omitempty"`
	// Uncertainty drives the outlook's Monte Carlo; its zero value takes
	// the lab capacity from the policy and a few days of transit.
	Uncertainty *allocation.Uncertainty `json:"uncertainty,omitempty"`
}

// AllocationRun is a stored run: who ran it, the problem it solved (built
// from the lots and accepted orders of that moment and the policy in
// force), the result and the outlook.
type AllocationRun struct {
	ID          domain.ID                `json:"id"`
	At          time.Time                `json:"at"`
	By          string                   `json:"by"`
	InputsHash  string                   `json:"inputs_sha256"`
	Problem     allocation.Problem       `json:"problem"`
	Result      allocation.Result        `json:"result"`
	Outlook     allocation.SupplyOutlook `json:"outlook"`
	Uncertainty allocation.Uncertainty   `json:"uncertainty"`
}

// RunSummary is what the ledger records of a run: enough to tie the
// published outcome to its inputs without copying them.
type RunSummary struct {
	ID         domain.ID          `json:"id"`
	At         time.Time          `json:"at"`
	InputsHash string             `json:"inputs_sha256"`
	Metrics    allocation.Metrics `json:"metrics"`
}

// RunAllocation allocates the lots to the accepted orders over a horizon
// under the policy in force (tiers, the CN volume cap, the minimum lot age,
// the reserve for small buyers), computes the supply outlook, and stores and
// ledgers the run. Callers: the vendor; EFORBIDDEN for anyone else. Returns
// EINVALID naming the field (start, periods, period_days, uncertainty.…). A
// failed run stores nothing.
//
// The solver and the outlook run on a read snapshot, outside the write
// transaction, so that other commands do not wait for them; the run is
// then written in a short transaction that first checks, from the ledger
// records appended since the snapshot, that nothing the problem read has
// changed (allocationInputsChanged). A stale run solves again on a new
// snapshot; after allocationTries it solves holding the writer.
func (s *Service) RunAllocation(ctx context.Context, who domain.Actor, in AllocationRunRequest) (AllocationRun, error) {
	if err := authorizeWork(who, ActAllocationRun, routineWork); err != nil {
		return AllocationRun{}, err
	}
	now := s.Now()
	start := now.Truncate(24*time.Hour).AddDate(0, 0, -int((now.Weekday()+6)%7))
	if in.Start != "" {
		t, err := parseDate("start", in.Start)
		if err != nil {
			return AllocationRun{}, err
		}
		start = t
	}
	if in.Periods == 0 {
		in.Periods = 52
	}
	if in.PeriodDays == 0 {
		in.PeriodDays = 7
	}
	if in.Periods < 1 || in.Periods > 520 {
		return AllocationRun{}, domain.Invalid("periods", "must be between 1 and 520")
	}
	if in.PeriodDays < 1 || in.PeriodDays > 366 {
		return AllocationRun{}, domain.Invalid("period_days", "must be between 1 and 366")
	}
	rules, err := s.rulesNow()
	if err != nil {
		return AllocationRun{}, err
	}
	u := defaultUncertainty(rules, in.PeriodDays)
	if in.Uncertainty != nil {
		u = *in.Uncertainty
		if err := u.Validate(); err != nil {
			return AllocationRun{}, withinField("uncertainty", err)
		}
	}
	run := AllocationRun{ID: newID(), At: now, By: who.PartySlug, Uncertainty: u}
	pol := s.policy.Load()
	for try := 1; ; try++ {
		if try > allocationTries {
			// The inputs kept changing under the solver: compute once more
			// holding the writer, as every run did before, so that the run
			// is made however busy the program is.
			err = s.store.InTx(ctx, func(tx store.Tx) error {
				if err := s.solveRun(ctx, tx, &run, rules, start, in.Periods, in.PeriodDays); err != nil {
					return err
				}
				return s.writeRun(ctx, tx, who, run)
			})
			return run, err
		}
		// Read a snapshot and solve outside the write transaction, so that
		// every other command goes on while the solver and the outlook run.
		var seen int64
		err = s.store.View(ctx, func(tx store.Tx) error {
			// The log's size first: whatever commits after this read
			// appends at or after seen, whichever snapshot the reads
			// below see.
			if seen, err = tx.AuditSize(ctx); err != nil {
				return err
			}
			return s.solveRun(ctx, tx, &run, rules, start, in.Periods, in.PeriodDays)
		})
		if err != nil {
			return AllocationRun{}, err
		}
		if s.solved != nil {
			s.solved()
		}
		stale := false
		err = s.store.InTx(ctx, func(tx store.Tx) error {
			changed, err := allocationInputsChanged(ctx, tx, seen)
			if err != nil {
				return err
			}
			if stale = changed || s.policy.Load() != pol; stale {
				return nil
			}
			return s.writeRun(ctx, tx, who, run)
		})
		if err != nil || !stale {
			return run, err
		}
	}
}

// allocationTries is how many times a run solves on a snapshot before it
// solves holding the writer: each try fails only when an order, lot,
// party, product or application changed while it computed.
const allocationTries = 2

// solveRun builds the allocation problem from what tx reads, solves it and
// computes the outlook into run.
func (s *Service) solveRun(ctx context.Context, tx store.Tx, run *AllocationRun, rules policy.Rules, start time.Time, periods, periodDays int) error {
	p, err := s.allocationProblem(ctx, tx, rules, start, periods, periodDays)
	if err != nil {
		return err
	}
	res, err := allocation.Run(p)
	if err != nil {
		return err
	}
	out, err := allocation.Outlook(p, res, run.Uncertainty)
	if err != nil {
		return err
	}
	inputs, err := json.Marshal(p)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(inputs)
	run.Problem, run.Result, run.Outlook, run.InputsHash = p, res, out, hex.EncodeToString(sum[:])
	return nil
}

// writeRun stores and ledgers a solved run.
func (s *Service) writeRun(ctx context.Context, tx store.Tx, who domain.Actor, run AllocationRun) error {
	if err := put(ctx, tx, store.KindAllocation, true, store.Doc{ID: run.ID, PartyID: who.PartyID, Status: "done", CreatedAt: run.At, UpdatedAt: run.At}, run); err != nil {
		return err
	}
	return s.record(ctx, tx, who, run.At, "allocation.run", "allocation_run", run.ID.String(), RunSummary{ID: run.ID, At: run.At, InputsHash: run.InputsHash, Metrics: run.Result.Metrics})
}

// allocationBystanders are the subjects of ledger records that never change
// an allocation problem (which reads lots, accepted orders, their buyers
// and applications, and products). Any other subject is taken to change
// it: a new kind of record is safe by default.
var allocationBystanders = map[string]bool{
	"alert": true, "allocation_run": true, "hearing": true, "serial": true,
	"token": true, "user": true, "webhook": true, "license": true, "permit": true,
	"list_version": true,
}

// maxBystanders bounds the records a run's write reads to tell that none
// of them changed its inputs; past it the run counts as stale.
const maxBystanders = 10_000

// allocationInputsChanged reports whether a record appended since the
// log had seen records may have changed what an allocation problem read.
func allocationInputsChanged(ctx context.Context, tx store.Tx, seen int64) (bool, error) {
	size, err := tx.AuditSize(ctx)
	if err != nil || size == seen {
		return false, err
	}
	if size-seen > maxBystanders {
		return true, nil
	}
	recs, err := tx.AuditRecords(ctx, seen, size)
	if err != nil {
		return false, err
	}
	for _, r := range recs {
		if !allocationBystanders[r.SubjectType] {
			return true, nil
		}
	}
	return false, nil
}

// withinField prefixes the paths of an EINVALID error's fields with the
// request field they are part of, so that they name what the caller sent
// ("uncertainty.runs", not "runs").
func withinField(field string, err error) error {
	var e *domain.Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		return err
	}
	pr := make(domain.Problems, len(e.Fields))
	for i, f := range e.Fields {
		pr[i] = domain.FieldError{Path: field + "." + f.Path, Message: f.Message}
	}
	return pr.Err()
}

// defaultUncertainty: the US lab's weekly capacity from the policy, ±20%,
// production yield down to 97%, and 3 to 10 days of transit.
func defaultUncertainty(rules policy.Rules, periodDays int) allocation.Uncertainty {
	u := allocation.Uncertainty{Seed: 2026, Runs: 500, YieldMin: 0.97, ReworkDays: float64(periodDays), RouteMin: 3, RouteMode: 5, RouteMax: 10}
	if c := rules.LabWeeklyCapacity(); c > 0 {
		perDay := float64(c) / 7
		u.LabMin, u.LabMax = perDay*0.8, perDay*1.2
	}
	return u
}

// allocationProblem builds the problem from the stored lots and accepted
// orders and the rules in force.
func (s *Service) allocationProblem(ctx context.Context, tx store.Tx, rules policy.Rules, start time.Time, periods, periodDays int) (allocation.Problem, error) {
	p := allocation.Problem{Periods: periods, Start: start.Format(time.DateOnly), PeriodDays: periodDays}
	period := func(t time.Time) int {
		d := int(t.Sub(start).Hours() / 24)
		if d < 0 {
			return 0
		}
		return d / periodDays
	}
	products, err := tx.Products(ctx)
	if err != nil {
		return p, err
	}
	slugOf := map[domain.ID]string{}
	for _, pr := range products {
		slugOf[pr.ID] = pr.Slug
	}
	lots, err := tx.Lots(ctx, domain.ID{})
	if err != nil {
		return p, err
	}
	for _, l := range lots {
		if pi := period(l.AvailableOn); pi < periods {
			p.Lots = append(p.Lots, allocation.Lot{ID: slugOf[l.ProductID] + "/" + l.Number, Product: slugOf[l.ProductID], Quantity: l.Quantity, Period: pi, Made: l.MadeOn.Format(time.DateOnly)})
		}
	}
	orders, err := store.List[domain.Order](ctx, tx, store.KindOrder, store.DocFilter{Status: []string{string(domain.OrderAccepted)}})
	if err != nil {
		return p, err
	}
	parties := map[domain.ID]domain.Party{}
	// A buyer's destination per site is read once, not once an order.
	type siteOf struct {
		buyer domain.ID
		site  int
	}
	dests := map[siteOf]string{}
	for _, o := range orders {
		buyer, ok := parties[o.BuyerID]
		if !ok {
			if buyer, err = tx.Party(ctx, o.BuyerID); err != nil {
				return p, err
			}
			parties[o.BuyerID] = buyer
		}
		site := siteOf{o.BuyerID, o.Site}
		dest, ok := dests[site]
		if !ok {
			if dest, err = s.orderDestination(ctx, tx, o); err != nil {
				return p, err
			}
			dests[site] = dest
		}
		want, err := time.Parse(time.DateOnly, o.Period)
		if err != nil {
			return p, fmt.Errorf("service: order %s period %q: %w", o.ID, o.Period, err)
		}
		class := buyer.Class
		if class == "" {
			class = domain.ClassPlatform
		}
		if pi := period(want); pi < periods {
			p.Orders = append(p.Orders, allocation.Order{ID: o.ID.String(), Buyer: o.Buyer, Region: rules.Region(dest), Class: class,
				Product: o.Product, Quantity: o.Quantity, Period: pi, Weight: 1})
		}
	}
	if a, ok := rules.Allocation(); ok {
		for _, t := range a.Tiers {
			p.Tiers = append(p.Tiers, []string{t})
		}
		if a.ReserveShare > 0 {
			var classes []domain.BuyerClass
			for _, c := range a.ReserveClasses {
				classes = append(classes, domain.BuyerClass(c))
			}
			p.Caps.Reserve = &allocation.Reserve{Classes: classes, Share: allocation.NewRatio(int64(a.ReserveShare), domain.RateScale)}
		}
	}
	// Every region of an order must be in a tier; unknown ones go last.
	for _, o := range p.Orders {
		if !slices.ContainsFunc(p.Tiers, func(t []string) bool { return slices.Contains(t, o.Region) }) {
			p.Tiers = append(p.Tiers, []string{o.Region})
		}
	}
	if share, _, ok := rules.VolumeCap("CN"); ok {
		p.Caps.RegionRatio = append(p.Caps.RegionRatio, allocation.RatioCap{Region: allocation.Regions{rules.Region("CN")}, Of: allocation.Regions{rules.Region("US")},
			Max: allocation.NewRatio(int64(share), domain.RateScale)})
	}
	if days := rules.MinLotAgeDays("CN"); days > 0 {
		p.Caps.MinLotAgeDays = map[string]int{rules.Region("CN"): days}
	}
	p.HHIRegions = []string{rules.Region("CN")}
	return p, nil
}

// AllocationRunsPage reads one page of runs without their bulk, newest
// first unless q.Asc, optionally only those made in q's range. Callers:
// the vendor and the authorities; EFORBIDDEN for anyone else. Returns
// EINVALID naming limit, cursor, status or party (runs have neither).
func (s *Service) AllocationRunsPage(ctx context.Context, who domain.Actor, q domain.ListQuery) (domain.Page[RunSummary], error) {
	if err := authorize(who, ActAllocationRead); err != nil {
		return domain.Page[RunSummary]{}, err
	}
	switch {
	case len(q.Status) > 0:
		return domain.Page[RunSummary]{}, domain.Invalid("status", "allocation runs have no status")
	case q.Party != "":
		return domain.Page[RunSummary]{}, domain.Invalid("party", "allocation runs are the program's, not a party's")
	}
	pq, err := checkQuery(who, q, nil, all)
	if err != nil {
		return domain.Page[RunSummary]{}, err
	}
	p, err := viewOf(ctx, s.store, func(tx store.Tx) (domain.Page[AllocationRun], error) {
		return pageOf[AllocationRun](ctx, tx, store.KindAllocation, pq)
	})
	return mapPage(p, summaryOf), err
}

func summaryOf(r AllocationRun) RunSummary {
	return RunSummary{ID: r.ID, At: r.At, InputsHash: r.InputsHash, Metrics: r.Result.Metrics}
}

// AllocationRuns lists every run, newest last, without their bulk.
// Callers: the vendor and the authorities; EFORBIDDEN for anyone else.
func (s *Service) AllocationRuns(ctx context.Context, who domain.Actor) ([]RunSummary, error) {
	if err := authorize(who, ActAllocationRead); err != nil {
		return nil, err
	}
	runs, err := viewOf(ctx, s.store, func(tx store.Tx) ([]AllocationRun, error) {
		return store.List[AllocationRun](ctx, tx, store.KindAllocation, store.DocFilter{})
	})
	out := make([]RunSummary, len(runs))
	for i, r := range runs {
		out[i] = summaryOf(r)
	}
	return out, err
}

// AllocationRunByID returns one run in full. Callers: the vendor and the
// authorities; EFORBIDDEN for anyone else. Returns ENOTFOUND for an unknown
// run.
func (s *Service) AllocationRunByID(ctx context.Context, who domain.Actor, id domain.ID) (AllocationRun, error) {
	if err := authorize(who, ActAllocationRead); err != nil {
		return AllocationRun{}, err
	}
	r, err := viewOf(ctx, s.store, func(tx store.Tx) (AllocationRun, error) {
		return store.Get[AllocationRun](ctx, tx, store.KindAllocation, id, false)
	})
	if err != nil {
		return AllocationRun{}, err
	}
	return s.boundRun(ctx, who, r)
}

// OutlookView is the supply outlook of the latest run as one reader may see
// it: a buyer its own orders; the vendor and the authorities everything.
type OutlookView struct {
	Run        domain.ID                 `json:"run"`
	At         time.Time                 `json:"at"`
	Start      string                    `json:"start"`
	PeriodDays int                       `json:"period_days"`
	Orders     []allocation.OrderOutlook `json:"orders"`
	Buyers     []allocation.BuyerOutlook `json:"buyers"`
	Unmet      []allocation.Unmet        `json:"unmet"`
}

// Outlook returns the supply outlook of the latest allocation run. Callers:
// the vendor and the authorities (every order), buyers (their own orders);
// EFORBIDDEN for the lab, carriers and auditors. Returns ENOTFOUND before
// the first run.
func (s *Service) Outlook(ctx context.Context, who domain.Actor) (OutlookView, error) {
	if err := authorize(who, ActOutlookRead); err != nil {
		return OutlookView{}, err
	}
	var runs []AllocationRun
	err := s.store.View(ctx, func(tx store.Tx) error {
		// The latest run is a query (newest first, one), not the last row
		// of a list: a list capped at 1,000 served the 1,000th run forever.
		var err error
		runs, err = store.List[AllocationRun](ctx, tx, store.KindAllocation, store.DocFilter{Desc: true, Limit: 1})
		return err
	})
	if err != nil {
		return OutlookView{}, err
	}
	if len(runs) == 0 {
		return OutlookView{}, domain.Errorf(domain.ENOTFOUND, "no allocation run yet")
	}
	r, err := s.boundRun(ctx, who, runs[0])
	if err != nil {
		return OutlookView{}, err
	}
	v := OutlookView{Run: r.ID, At: r.At, Start: r.Problem.Start, PeriodDays: r.Problem.PeriodDays,
		Orders: []allocation.OrderOutlook{}, Buyers: []allocation.BuyerOutlook{}, Unmet: []allocation.Unmet{}}
	mine := func(buyer string) bool {
		return grants[ActOutlookRead][who.Role] == all || isSystem(who) || buyer == who.PartySlug
	}
	buyerOf := map[string]string{}
	for _, o := range r.Outlook.Orders {
		buyerOf[o.Order] = o.Buyer
		if mine(o.Buyer) {
			v.Orders = append(v.Orders, o)
		}
	}
	for _, b := range r.Outlook.Buyers {
		if mine(b.Buyer) {
			v.Buyers = append(v.Buyers, b)
		}
	}
	for _, u := range r.Result.Unmet {
		if mine(buyerOf[u.Order]) {
			v.Unmet = append(v.Unmet, u)
		}
	}
	return v, nil
}
