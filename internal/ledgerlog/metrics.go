package ledgerlog

import "github.com/prometheus/client_golang/prometheus"

// Metrics counts what the log's signer does. Register Collectors with the
// server's registry to export them.
type Metrics struct {
	// Signed counts checkpoints signed; Size is the latest one's size.
	Signed prometheus.Counter
	Size   prometheus.Gauge
	// Refused counts trees the signer refused to sign: each one means the
	// database was changed behind the log's back. Alert on any increase.
	Refused prometheus.Counter
	// Cosignatures counts witness answers by witness and result (ok,
	// error, invalid, ahead); CosignSeconds times gathering them.
	Cosignatures  *prometheus.CounterVec
	CosignSeconds prometheus.Histogram
	// Unwitnessed counts checkpoints published with fewer cosignatures
	// than the policy requires.
	Unwitnessed prometheus.Counter
}

// NewMetrics returns unregistered metrics.
func NewMetrics() *Metrics {
	return &Metrics{
		Signed: prometheus.NewCounter(prometheus.CounterOpts{Name: "chipgate_ledger_checkpoints_signed_total", Help: "Ledger checkpoints signed."}),
		Size:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "chipgate_ledger_checkpoint_size", Help: "Size of the latest signed ledger checkpoint."}),
		Refused: prometheus.NewCounter(prometheus.CounterOpts{Name: "chipgate_ledger_signatures_refused_total",
			Help: "Trees the ledger's signer refused to sign because they do not extend a checkpoint it signed: the database was changed behind its back."}),
		Cosignatures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "chipgate_ledger_cosignatures_total", Help: "Witness answers to add-checkpoint, by witness and result."},
			[]string{"witness", "result"}),
		CosignSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "chipgate_ledger_cosign_duration_seconds", Help: "Time to gather the witnesses' cosignatures of a checkpoint.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}}),
		Unwitnessed: prometheus.NewCounter(prometheus.CounterOpts{Name: "chipgate_ledger_checkpoints_unwitnessed_total",
			Help: "Checkpoints published with fewer cosignatures than the policy requires."}),
	}
}

// Collectors returns the metrics to register.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.Signed, m.Size, m.Refused, m.Cosignatures, m.CosignSeconds, m.Unwitnessed}
}
