package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/ledger"
	"github.com/chipgate/chipgate/internal/store"
)

// State bound to the ledger (docs/LEDGER.md, "State bound to the log").
// Every command's transaction goes through a boundTx, which
//
//   - remembers the post-state of each state row the command writes
//     (documents, volume counters, serials) and puts them, as the payload's
//     _state member, into the command's next audit record; then stamps each
//     row with that record's index and leaf hash;
//   - checks every state row the command reads: it must name a record whose
//     leaf hash is the row's stamp and whose post-state for the row has the
//     row's content hash. A row that fails fails the command with
//     EStateTampered: no decision is taken on it.
//
// Reads in View (queries, not decisions) are not checked: `chipgate ledger
// verify --state` compares every row with the whole log.

// StateTamper says which row disagrees with the ledger and how.
type StateTamper struct {
	Row    ledger.StateKey
	Index  int64 // the record the row names, -1 for none
	Reason string
}

func (t *StateTamper) Error() string {
	return fmt.Sprintf("state disagrees with the ledger: %s %s (record %d): %s", t.Row.Table, t.Row.Key, t.Index, t.Reason)
}

// tampered returns the command's error for a row that disagrees with the
// ledger: EStateTampered, which says so without naming the row.
func tampered(k ledger.StateKey, idx int64, format string, args ...any) error {
	return &domain.Error{Code: domain.EStateTampered,
		Message: "the program's state disagrees with its ledger: no decision was taken, and the export authority has been alerted",
		Err:     &StateTamper{Row: k, Index: idx, Reason: fmt.Sprintf(format, args...)}}
}

// recordState is what a record says of the rows it wrote: its leaf hash and
// each row's content hash.
type recordState struct {
	leaf ledger.Hash
	rows map[ledger.StateKey]ledger.Hash
}

// maxRecordStates bounds the records remembered; past it the memory starts
// again (records are read back from the store when needed).
const maxRecordStates = 1 << 18

// stateBinding is the memory shared by a service's transactions: the
// records this process wrote or checked, the metric, and what to do when a
// row disagrees.
type stateBinding struct {
	mu   sync.Mutex
	recs map[int64]*recordState

	tamperedRows *prometheus.CounterVec
	onTamper     func(ctx context.Context, t *StateTamper)
}

func newStateBinding() *stateBinding {
	return &stateBinding{
		recs: map[int64]*recordState{},
		tamperedRows: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "chipgate_state_tampered_total",
			Help: "Commands refused because a state row they read disagrees with the ledger record that last changed it, by table. Alert on any increase."},
			[]string{"table"}),
	}
}

func (b *stateBinding) get(idx int64) *recordState {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.recs[idx]
}

func (b *stateBinding) put(idx int64, rs *recordState) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.recs) >= maxRecordStates {
		clear(b.recs)
	}
	b.recs[idx] = rs
}

// boundStore is a store whose transactions are bound to the ledger.
type boundStore struct {
	store.Store
	b *stateBinding
}

func (s boundStore) InTx(ctx context.Context, fn func(store.Tx) error) error {
	var wrote map[int64]*recordState
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		w := &boundTx{Tx: tx, b: s.b}
		if err := fn(w); err != nil {
			return err
		}
		if len(w.pending) > 0 {
			return fmt.Errorf("service: %s %s changed without an audit record", w.pending[0].Table, w.pending[0].Key)
		}
		wrote = w.recs
		return nil
	})
	if err == nil {
		// Only committed records are remembered: a rolled-back one's
		// index will be another record's.
		for idx, rs := range wrote {
			s.b.put(idx, rs)
		}
	}
	var t *StateTamper
	if errors.As(err, &t) {
		s.b.tamperedRows.WithLabelValues(t.Row.Table).Inc()
		if s.b.onTamper != nil {
			s.b.onTamper(context.WithoutCancel(ctx), t)
		}
	}
	return err
}

// boundTx is one command's transaction bound to the ledger.
type boundTx struct {
	store.Tx
	b *stateBinding
	// pending are the rows written since the command's last record, in
	// order of first write; at indexes them.
	pending []ledger.StateRow
	at      map[ledger.StateKey]int
	// recs are the records this transaction wrote.
	recs map[int64]*recordState
}

// stateTime is how a row's instants appear in its post-state: as stored
// (microseconds), UTC, RFC 3339.
func stateTime(t time.Time) string {
	return t.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)
}

func docState(kind store.Kind, d store.Doc) ledger.StateRow {
	return ledger.StateRow{Table: string(kind), Key: d.ID.String(),
		Fields: []string{d.PartyID.String(), d.Ref, d.Status, stateTime(d.CreatedAt), stateTime(d.UpdatedAt)},
		HasDoc: true, Doc: d.Body}
}

func volumeState(c store.Counter, v store.VolumeRow) ledger.StateRow {
	return ledger.StateRow{Table: string(c), Key: v.Key(), Fields: []string{strconv.FormatInt(v.Units, 10)}}
}

func serialState(serial string, shipment domain.ID) ledger.StateRow {
	return ledger.StateRow{Table: store.SerialsTable, Key: serial, Fields: []string{shipment.String()}}
}

// wrote remembers a row's post-state for the command's next record.
func (w *boundTx) wrote(r ledger.StateRow) {
	if w.at == nil {
		w.at = map[ledger.StateKey]int{}
	}
	k := r.ID()
	if i, ok := w.at[k]; ok {
		w.pending[i] = r
		return
	}
	w.at[k] = len(w.pending)
	w.pending = append(w.pending, r)
}

// check refuses a row read by the command unless it is what the record it
// names says. A row the command itself wrote since its last record is its
// own.
func (w *boundTx) check(ctx context.Context, r ledger.StateRow, idx int64, hash []byte) error {
	k := r.ID()
	if _, ok := w.at[k]; ok {
		return nil
	}
	if len(hash) == 0 {
		if zeroCounter(r) {
			return nil
		}
		return tampered(k, -1, "the row names no record")
	}
	rs, err := w.record(ctx, idx)
	if err != nil {
		return err
	}
	if rs == nil {
		return tampered(k, idx, "the row names record %d, which the log does not hold", idx)
	}
	if !bytes.Equal(hash, rs.leaf[:]) {
		return tampered(k, idx, "the row's record hash is not the leaf hash of record %d", idx)
	}
	want, ok := rs.rows[k]
	if !ok {
		return tampered(k, idx, "record %d did not write this row", idx)
	}
	if r.Hash() != want {
		return tampered(k, idx, "the row's content is not the post-state record %d carries", idx)
	}
	return nil
}

// record returns what record idx says of the rows it wrote: from this
// transaction, the process's memory, or the store (nil when there is no
// such record).
func (w *boundTx) record(ctx context.Context, idx int64) (*recordState, error) {
	if rs, ok := w.recs[idx]; ok {
		return rs, nil
	}
	if rs := w.b.get(idx); rs != nil {
		return rs, nil
	}
	recs, err := w.Tx.AuditRecords(ctx, idx, idx+1)
	if err != nil || len(recs) == 0 {
		return nil, err
	}
	leaf, err := ledger.LeafHash(&recs[0])
	if err != nil {
		return nil, err
	}
	rs := &recordState{leaf: leaf, rows: map[ledger.StateKey]ledger.Hash{}}
	rows, _, err := ledger.SplitState(recs[0].Payload)
	if err != nil && !errors.Is(err, ledger.ErrNoState) {
		return nil, tampered(ledger.StateKey{Table: "audit_log", Key: strconv.FormatInt(idx, 10)}, idx, "the record's post-states do not parse: %v", err)
	}
	for _, r := range rows {
		rs.rows[r.ID()] = r.Hash()
	}
	w.b.put(idx, rs)
	return rs, nil
}

func (w *boundTx) AppendAudit(ctx context.Context, rec *domain.AuditRecord) error {
	if len(w.pending) == 0 {
		return w.Tx.AppendAudit(ctx, rec)
	}
	// The store keeps microseconds: the leaf hashed here must be the one
	// hashed from the stored record.
	rec.At = rec.At.Truncate(time.Microsecond)
	payload, err := ledger.WithState(rec.Payload, w.pending)
	if err != nil {
		return fmt.Errorf("service: record %s: %w", rec.Action, err)
	}
	rec.Payload = payload
	if err := w.Tx.AppendAudit(ctx, rec); err != nil {
		return err
	}
	leaf, err := ledger.LeafHash(rec)
	if err != nil {
		return err
	}
	rs := &recordState{leaf: leaf, rows: make(map[ledger.StateKey]ledger.Hash, len(w.pending))}
	refs := make([]store.StateRef, len(w.pending))
	for i := range w.pending {
		r := &w.pending[i]
		rs.rows[r.ID()] = r.Hash()
		refs[i] = store.StateRef{Table: r.Table, Key: r.Key}
	}
	if err := w.Tx.StampState(ctx, rec.Index, leaf[:], refs); err != nil {
		return err
	}
	if w.recs == nil {
		w.recs = map[int64]*recordState{}
	}
	w.recs[rec.Index] = rs
	w.pending, w.at = nil, nil
	return nil
}

func (w *boundTx) PutDoc(ctx context.Context, kind store.Kind, d store.Doc, create bool) error {
	row, err := w.Tx.PutDocRow(ctx, kind, d, create)
	if err != nil {
		return err
	}
	w.wrote(docState(kind, row))
	return nil
}

func (w *boundTx) GetDoc(ctx context.Context, kind store.Kind, id domain.ID, forUpdate bool) (store.Doc, error) {
	d, err := w.Tx.GetDoc(ctx, kind, id, forUpdate)
	if err != nil {
		return d, err
	}
	return d, w.check(ctx, docState(kind, d), d.LedgerIndex, d.LedgerHash)
}

func (w *boundTx) ListDocs(ctx context.Context, kind store.Kind, f store.DocFilter) ([]store.Doc, error) {
	ds, err := w.Tx.ListDocs(ctx, kind, f)
	if err != nil {
		return nil, err
	}
	for _, d := range ds {
		if err := w.check(ctx, docState(kind, d), d.LedgerIndex, d.LedgerHash); err != nil {
			return nil, err
		}
	}
	return ds, nil
}

func (w *boundTx) Volumes(ctx context.Context, c store.Counter, product string, regions []string) (map[string]int64, error) {
	rows, err := w.Tx.LockVolumeRows(ctx, c, product, regions)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(rows))
	for _, v := range rows {
		if err := w.check(ctx, volumeState(c, v), v.LedgerIndex, v.LedgerHash); err != nil {
			return nil, err
		}
		out[v.Region] = v.Units
	}
	return out, nil
}

func (w *boundTx) AddVolume(ctx context.Context, c store.Counter, product, region string, delta int64) error {
	units, err := w.Tx.AddVolumeUnits(ctx, c, product, region, delta)
	if err != nil {
		return err
	}
	w.wrote(volumeState(c, store.VolumeRow{Product: product, Region: region, Units: units}))
	return nil
}

func (w *boundTx) ClaimSerials(ctx context.Context, shipment domain.ID, serials []string) error {
	if err := w.Tx.ClaimSerials(ctx, shipment, serials); err != nil {
		return err
	}
	for _, sn := range serials {
		w.wrote(serialState(sn, shipment))
	}
	return nil
}

// Collectors returns the service's metrics, for the server's registry:
// chipgate_state_tampered_total.
func (s *Service) Collectors() []prometheus.Collector {
	return []prometheus.Collector{s.state.tamperedRows}
}

// stateTampered reports a row that disagrees with the ledger: an
// error-level log line naming it, and once per row and record an alert of
// kind state_tampered for the export authority (its alert.raised record is
// in the ledger, for the auditors).
func (s *Service) stateTampered(ctx context.Context, t *StateTamper) {
	s.log.Error("STATE DISAGREES WITH THE LEDGER: refusing to decide on it", "table", t.Row.Table, "key", t.Row.Key, "record", t.Index, "reason", t.Reason)
	if _, seen := s.tamperAlerts.LoadOrStore(*t, true); seen {
		return
	}
	now := s.Now()
	a := domain.Alert{ID: newID(), Kind: "state_tampered", State: domain.AlertOpen, CreatedAt: now, UpdatedAt: now,
		Evidence: []string{fmt.Sprintf("%s %s disagrees with the ledger (record %d): %s; no decision was taken on it. Compare the database with the log: chipgate ledger verify --state", t.Row.Table, t.Row.Key, t.Index, t.Reason)}}
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		return s.saveAlerts(ctx, tx, domain.SystemActor, []domain.Alert{a})
	})
	if err != nil {
		s.tamperAlerts.Delete(*t)
		s.log.Error("state tampered: the alert could not be raised", "err", err)
	}
}

// stateScan is the state rows read in one snapshot with the log's size, and
// the log replayed up to that size.
type stateScan struct {
	size   int64
	rows   []ledger.StoredRow
	replay *ledger.StateReplay
	seals  seals // the screening log's seals the replay met
}

// StateReport is what `ledger verify --state` found: the rows compared,
// the records replayed, and every row where the tables and the log
// disagree.
type StateReport struct {
	Rows    int
	Records int64
	Diffs   []ledger.StateDiff
	// ScreeningLog is the screening log's chain checked against its
	// seals in the log.
	ScreeningLog ScreeningLogReport
}

// VerifyState verifies the log as VerifyLogWith does and, replaying the
// post-states its records carry, compares every state row (documents,
// volume counters, serials) with the last post-state the log holds for it;
// it also recomputes the screening log's chain and checks it against the
// seals the log holds (ScreeningLogReport).
// The error is the log's verification error; disagreements are in the
// report.
func (s *Service) VerifyState(ctx context.Context, opts VerifyOptions) (ledger.VerifySummary, StateReport, error) {
	st := &stateScan{}
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		if st.size, err = tx.AuditSize(ctx); err != nil {
			return err
		}
		return scanState(ctx, tx, func(r ledger.StoredRow) { st.rows = append(st.rows, r) })
	})
	if err != nil {
		return ledger.VerifySummary{}, StateReport{}, err
	}
	st.replay = ledger.NewStateReplay(st.rows, store.StateTables, zeroCounter)
	sum, err := s.verifyLog(ctx, opts, st)
	rep := StateReport{Rows: len(st.rows), Records: st.replay.Records}
	if err != nil {
		return sum, rep, err
	}
	// On PostgreSQL the snapshot is per statement: a row a command changed
	// while the tables were read names a record past the size read first.
	// Such rows are left out if the log holds their record by now.
	later, err := viewOf(ctx, s.store, func(tx store.Tx) (int64, error) { return tx.AuditSize(ctx) })
	if err != nil {
		return sum, rep, err
	}
	skip := map[ledger.StateKey]bool{}
	for _, r := range st.rows {
		if r.Hash != nil && r.Index >= st.size && r.Index < later {
			skip[r.Row.ID()] = true
		}
	}
	for _, d := range st.replay.Diffs() {
		if !skip[ledger.StateKey{Table: d.Table, Key: d.Key}] {
			rep.Diffs = append(rep.Diffs, d)
		}
	}
	rep.ScreeningLog, err = s.verifyScreeningLog(ctx, st.seals.list)
	return sum, rep, err
}

// zeroCounter reports a volume counter at zero: created by the lock before
// its first use, it names no record.
func zeroCounter(r ledger.StateRow) bool {
	return (r.Table == string(store.Ordered) || r.Table == string(store.Shipped)) && len(r.Fields) == 1 && r.Fields[0] == "0"
}

// scanState reads every state row with the record it names.
func scanState(ctx context.Context, tx store.Tx, add func(ledger.StoredRow)) error {
	for _, t := range store.StateTables {
		var err error
		switch t {
		case string(store.Ordered), string(store.Shipped):
			c := store.Counter(t)
			err = tx.ScanVolumes(ctx, c, func(v store.VolumeRow) error {
				add(ledger.StoredRow{Row: volumeState(c, v), Index: v.LedgerIndex, Hash: v.LedgerHash})
				return nil
			})
		case store.SerialsTable:
			err = tx.ScanSerials(ctx, func(r store.SerialRow) error {
				add(ledger.StoredRow{Row: serialState(r.Serial, r.Shipment), Index: r.LedgerIndex, Hash: r.LedgerHash})
				return nil
			})
		default:
			k := store.Kind(t)
			err = tx.ScanDocs(ctx, k, func(d store.Doc) error {
				add(ledger.StoredRow{Row: docState(k, d), Index: d.LedgerIndex, Hash: d.LedgerHash})
				return nil
			})
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// AdoptState binds the state rows that name no record — rows written
// before migration 0013 — to the ledger: it records their present
// contents as post-states, in records of the system actor
// (state.adopted, up to 200 rows each), and stamps them. It returns how many
// rows it adopted; none on a database the program has always bound. What
// the rows held when adopted is what the log then vouches for: run it once,
// at the upgrade (serve and demo do at start), not to silence a tamper
// alarm, which a row that names a record raises and which this leaves alone.
func (s *Service) AdoptState(ctx context.Context) (int, error) {
	var rows []ledger.StateRow
	err := s.store.View(ctx, func(tx store.Tx) error {
		return scanState(ctx, tx, func(r ledger.StoredRow) {
			if r.Hash == nil && !zeroCounter(r.Row) {
				rows = append(rows, r.Row)
			}
		})
	})
	if err != nil {
		return 0, err
	}
	const batch = 200
	for from := 0; from < len(rows); from += batch {
		part := rows[from:min(from+batch, len(rows))]
		err := s.store.InTx(ctx, func(tx store.Tx) error {
			w, ok := tx.(*boundTx)
			if !ok {
				return fmt.Errorf("service: adopt state: the transaction is not bound to the ledger")
			}
			for _, r := range part {
				w.wrote(r)
			}
			return s.record(ctx, tx, domain.SystemActor, s.Now(), "state.adopted", "ledger", "migration-0013", map[string]int{"rows": len(part)})
		})
		if err != nil {
			return from, err
		}
	}
	if len(rows) > 0 {
		s.log.Warn("ledger: state rows written before the ledger bound them adopted as they are", "rows", len(rows))
	}
	return len(rows), nil
}
