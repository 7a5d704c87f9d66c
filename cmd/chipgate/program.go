package main

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/chipgate/chipgate/internal/policy"
	"github.com/chipgate/chipgate/internal/screening"
	"github.com/chipgate/chipgate/internal/screening/fallback"
	"github.com/chipgate/chipgate/internal/server"
	"github.com/chipgate/chipgate/internal/service"
	"github.com/chipgate/chipgate/policies"
)

// programFlags are the rules and lists a server runs with.
type programFlags struct {
	policy           string
	lists            string
	rateLimit        float64
	idempotencyLease time.Duration
}

func addProgramFlags(cmd *cobra.Command) *programFlags {
	f := &programFlags{}
	cmd.Flags().StringVar(&f.policy, "policy", "", "policy file (default: the embedded policies/default.yaml)")
	cmd.Flags().Float64Var(&f.rateLimit, "rate-limit", 0, "requests a second each user may make (bursts of twice that); 0 for the default, negative for none")
	cmd.Flags().StringVar(&f.lists, "lists", os.Getenv("CHIPGATE_LISTS"), "directory of restricted-party list files (env CHIPGATE_LISTS; default: the embedded 2022-04 Consolidated Screening List)")
	cmd.Flags().DurationVar(&f.idempotencyLease, "idempotency-lease", server.DefaultIdempotencyLease, "how long a request with an Idempotency-Key may stay in flight before a retry may take it over (after a crash)")
	return f
}

// loadPolicy reads the policy file, or the embedded default. A bad policy
// stops the server from starting, with file:line and the rule id.
func loadPolicy(path string) (*policy.Policy, error) {
	if path == "" {
		return policy.Load("policies/default.yaml", policies.Default)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--policy: %w", err)
	}
	p, err := policy.Load(path, data)
	if err != nil {
		return nil, fmt.Errorf("--policy: %w", err)
	}
	return p, nil
}

// loadScreening builds the restricted-party index from dir, or from the
// embedded fallback list.
func loadScreening(dir string, log *slog.Logger) (*screening.Index, error) {
	start := time.Now()
	var ds *screening.Dataset
	var err error
	if dir == "" {
		ds, err = fallback.Load()
	} else {
		ds, err = screening.LoadDir(dir)
	}
	if err != nil {
		return nil, fmt.Errorf("--lists: %w", err)
	}
	ix := screening.NewIndex(ds.Entities)
	source := dir
	if source == "" {
		source = fallback.Name
	}
	log.Info("screening lists loaded", "source", source, "entities", ix.Len(), "skipped", ds.Report.SkippedCount(), "took", time.Since(start).Round(time.Millisecond))
	return ix, nil
}

// options loads the policy and the lists into service options.
func (f *programFlags) options(log *slog.Logger) (service.Options, error) {
	pol, err := loadPolicy(f.policy)
	if err != nil {
		return service.Options{}, err
	}
	ix, err := loadScreening(f.lists, log)
	if err != nil {
		return service.Options{}, err
	}
	return service.Options{Log: log, Policy: pol, Screening: ix}, nil
}
