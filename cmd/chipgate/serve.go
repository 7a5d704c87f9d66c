package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/chipgate/chipgate/internal/demo"
	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/ledgerlog"
	"github.com/chipgate/chipgate/internal/policy"
	"github.com/chipgate/chipgate/internal/screening"
	"github.com/chipgate/chipgate/internal/server"
	"github.com/chipgate/chipgate/internal/service"
	"github.com/chipgate/chipgate/internal/store"
	"github.com/chipgate/chipgate/internal/web"
	"github.com/chipgate/chipgate/policies"
)

// dbFlag registers --db with the CHIPGATE_DB environment variable as default.
func dbFlag(cmd *cobra.Command, def string) *string {
	if env := os.Getenv("CHIPGATE_DB"); env != "" {
		def = env
	}
	return cmd.Flags().String("db", def, "database: a SQLite file path or a postgres:// DSN (env CHIPGATE_DB)")
}

// openStore opens and migrates the database.
func openStore(ctx context.Context, dsn string) (store.Store, error) {
	if dsn == "" {
		return nil, fmt.Errorf("--db: required (a SQLite path or a postgres:// DSN)")
	}
	st, err := store.Open(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("--db: %w", err)
	}
	if _, err := store.Migrate(ctx, st); err != nil {
		st.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return st, nil
}

func newServeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the API on ADDR from the database (migrating it first)",
		Args:  cobra.NoArgs,
	}
	db := dbFlag(cmd, "")
	addr := cmd.Flags().String("addr", "127.0.0.1:8080", "listen address")
	pf := addProgramFlags(cmd)
	lf := addLedgerFlags(cmd)
	wf := addWebFlags(cmd)
	hf := addWebhookFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		log := slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), nil))
		opts, err := pf.options(log)
		if err != nil {
			return err
		}
		signer, metrics, err := lf.signer(*db, opts.Policy.Ledger().Witnesses, log)
		if err != nil {
			return err
		}
		if opts.Webhooks, err = hf.options(lf, *db); err != nil {
			return err
		}
		wo, err := wf.options(*db, log)
		if err != nil {
			return err
		}
		st, err := openStore(cmd.Context(), *db)
		if err != nil {
			return err
		}
		defer st.Close()
		svc := service.New(st, opts)
		if _, err := svc.AdoptState(cmd.Context()); err != nil {
			return fmt.Errorf("ledger: adopt the state written before it was bound: %w", err)
		}
		return run(cmd.Context(), svc, pf, signer, metrics, lf.interval, *addr, log, wo, func(url string) {
			log.Info("listening", "url", url, "database", st.Dialect())
		})
	}
	return cmd
}

// run serves the API on addr until ctx is done. ready is called with the
// base URL once the listener is bound.
func run(ctx context.Context, svc *service.Service, pf *programFlags, signer *service.LedgerSigner, metrics *ledgerlog.Metrics, every time.Duration, addr string, log *slog.Logger, wo web.Options, ready func(url string)) error {
	srv := server.New(svc, server.Options{Log: log, Version: version, RateLimit: pf.rateLimit, TrustedProxies: wo.TrustedProxies, IdempotencyLease: pf.idempotencyLease, Pages: web.New(svc, wo), ReloadLists: func(context.Context) (*screening.Index, error) {
		return loadScreening(pf.lists, log)
	}, Collectors: metrics.Collectors()})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--addr: %w", err)
	}
	// Sign a first checkpoint before serving, so that the verifier key and
	// a checkpoint exist from the start; then keep signing in the background.
	// A tree the signer refuses (the database was rewritten) does not stop
	// the server: the refusal is logged at error level and counted at every
	// attempt, and no checkpoint is signed until the records are restored.
	var refused *ledgerlog.RefusedError
	if _, err := svc.SignCheckpoint(ctx, signer); err != nil && domain.ErrorCode(err) != domain.EUNAVAILABLE && !errors.As(err, &refused) {
		ln.Close()
		return fmt.Errorf("ledger: %w", err)
	}
	sctx, stop := context.WithCancel(ctx)
	signed := make(chan struct{})
	go func() {
		defer close(signed)
		svc.RunCheckpoints(sctx, signer, every)
	}()
	delivering := make(chan struct{})
	go func() {
		defer close(delivering)
		svc.RunWebhooks(sctx)
	}()
	if pf.lists != "" {
		// Lists from a configured directory may be newer than the last
		// screening: re-screen every application in force.
		go func() {
			if rep, err := svc.RescreenAll(sctx, domain.SystemActor); err != nil {
				log.Warn("re-screening at start-up", "err", err)
			} else {
				log.Info("re-screened at start-up", "applications", rep.Screened, "changed", rep.Changed, "new_hits", rep.NewHits)
			}
		}()
	}
	ready("http://" + ln.Addr().String())
	err = server.Serve(ctx, ln, srv, log, 10*time.Second)
	stop()
	<-signed
	// The final searches' log entries are written (docs/SCREENING.md).
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	if ferr := svc.FlushScreeningLog(fctx); ferr != nil {
		log.Warn("screening log not flushed", "err", ferr)
	}
	cancel()
	<-delivering
	// A last seal of the screening log, and a last checkpoint covering it
	// and what the final requests wrote.
	if serr := svc.SealScreeningLog(context.WithoutCancel(ctx)); serr != nil {
		log.Warn("screening log not sealed", "err", serr)
	}
	if _, serr := svc.SignCheckpoint(context.WithoutCancel(ctx), signer); serr != nil {
		log.Warn("final checkpoint not signed", "err", serr)
	}
	return err
}

func newDemoCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Load the demo cast into a SQLite file and serve it, printing a token per party",
		Args:  cobra.NoArgs,
	}
	db := cmd.Flags().String("db", "chipgate-demo.db", "database: a SQLite file path or a postgres:// DSN")
	addr := cmd.Flags().String("addr", "127.0.0.1:8080", "listen address")
	tokensFile := cmd.Flags().String("tokens-file", "", "also write the demo tokens to FILE as JSON {slug: {role, token}}")
	pf := addProgramFlags(cmd)
	lf := addLedgerFlags(cmd)
	wf := addWebFlags(cmd)
	hf := addWebhookFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ctx := cmd.Context()
		log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
		opts, err := pf.options(log)
		if err != nil {
			return err
		}
		if pf.policy == "" {
			// The demo's landmarks run on loopback while it loads, and its
			// policy trusts their (demo, public by construction) keys:
			// its devices check in with signed evidence (docs/TELEMETRY.md).
			src, err := demo.PolicyFile(policies.Default)
			if err != nil {
				return err
			}
			if opts.Policy, err = policy.Load("policies/default.yaml+demo-landmarks", src); err != nil {
				return err
			}
		}
		signer, metrics, err := lf.signer(*db, opts.Policy.Ledger().Witnesses, log)
		if err != nil {
			return err
		}
		if opts.Webhooks, err = hf.options(lf, *db); err != nil {
			return err
		}
		wo, err := wf.options(*db, log)
		if err != nil {
			return err
		}
		// Loading the cast and the story takes seconds on a fresh
		// database: say so at once, the banner follows when it serves.
		fmt.Fprintf(cmd.ErrOrStderr(), "chipgate demo: loading the demo into %s …\n", *db)
		st, err := openStore(ctx, *db)
		if err != nil {
			return err
		}
		defer st.Close()
		svc := service.New(st, opts)
		if _, err := svc.AdoptState(ctx); err != nil {
			return fmt.Errorf("ledger: adopt the state written before it was bound: %w", err)
		}
		created, err := demo.Load(ctx, svc)
		if err != nil {
			return err
		}
		if err := demo.LoadStory(ctx, svc); err != nil {
			return err
		}
		creds, err := demo.IssueTokens(ctx, svc, 30*24*time.Hour)
		if err != nil {
			return err
		}
		if *tokensFile != "" {
			if err := writeTokensFile(*tokensFile, creds); err != nil {
				return err
			}
		}
		out := cmd.OutOrStdout()
		return run(ctx, svc, pf, signer, metrics, lf.interval, *addr, log, wo, func(url string) {
			printDemo(out, url, *db, created, creds)
		})
	}
	return cmd
}

func writeTokensFile(path string, creds map[string]demo.Credential) error {
	body, err := json.MarshalIndent(creds, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(body, '\n'), 0o600); err != nil {
		return fmt.Errorf("--tokens-file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("--tokens-file: %w", err)
	}
	return nil
}

func printDemo(w io.Writer, url, db string, created int, creds map[string]demo.Credential) {
	fmt.Fprintf(w, "chipgate demo: %s (database %s", url, db)
	if created > 0 {
		fmt.Fprintf(w, ", %d parties created", created)
	}
	fmt.Fprintf(w, ")\n\nTokens (valid 30 days; each start replaces them):\n")
	slugs := make([]string, 0, len(creds))
	for s := range creds {
		slugs = append(slugs, s)
	}
	sort.Strings(slugs)
	for _, s := range slugs {
		fmt.Fprintf(w, "  %-18s %-17s %s\n", s, creds[s].Role, creds[s].Token)
	}
	// The dashboard takes a token pasted into its sign-in form, never one in
	// a URL, which would end up in logs and browser history.
	fmt.Fprintf(w, "\nDashboard: open %s/signin and paste one of the tokens above.\n", url)
	fmt.Fprintf(w, "\nTry: curl -H 'Authorization: Bearer %s' %s/api/v1/me\nStop with Ctrl-C.\n", creds["nvidia"].Token, url)
}

func newMigrateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply the database migrations that have not been applied",
		Args:  cobra.NoArgs,
	}
	db := dbFlag(cmd, "")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if *db == "" {
			return fmt.Errorf("--db: required (a SQLite path or a postgres:// DSN)")
		}
		st, err := store.Open(cmd.Context(), *db)
		if err != nil {
			return fmt.Errorf("--db: %w", err)
		}
		defer st.Close()
		applied, err := store.Migrate(cmd.Context(), st)
		if err != nil {
			return err
		}
		if len(applied) == 0 {
			fmt.Fprintln(cmd.OutOrStdout(), "up to date")
		}
		for _, m := range applied {
			fmt.Fprintln(cmd.OutOrStdout(), "applied", m)
		}
		return nil
	}
	return cmd
}
