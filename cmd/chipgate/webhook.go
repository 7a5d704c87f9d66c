package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
)

// webhookFlags are the operator's settings for event delivery.
type webhookFlags struct {
	allowPrivate bool
	attempts     int
	backoff      time.Duration
	maxBackoff   time.Duration
	timeout      time.Duration
}

func addWebhookFlags(cmd *cobra.Command) *webhookFlags {
	f := &webhookFlags{}
	cmd.Flags().BoolVar(&f.allowPrivate, "webhook-allow-private", os.Getenv("CHIPGATE_WEBHOOK_ALLOW_PRIVATE") == "1",
		"let webhook receivers be loopback, private or link-local addresses (env CHIPGATE_WEBHOOK_ALLOW_PRIVATE=1); by default they are refused when subscribing and when connecting, so that a subscriber cannot make the server call into its own network")
	cmd.Flags().IntVar(&f.attempts, "webhook-attempts", 8, "failed attempts after which an event goes to the subscription's dead letters")
	cmd.Flags().DurationVar(&f.backoff, "webhook-backoff", time.Second, "wait after an event's first failed attempt; doubled after each further one, with jitter")
	cmd.Flags().DurationVar(&f.maxBackoff, "webhook-max-backoff", time.Hour, "longest wait between two attempts")
	cmd.Flags().DurationVar(&f.timeout, "webhook-timeout", 10*time.Second, "how long one attempt may take")
	return f
}

// options returns the service's event settings, the secrets derived from
// the ledger's signing key (webhookKey).
func (f *webhookFlags) options(lf *ledgerFlags, dsn string) (service.WebhookOptions, error) {
	key, err := lf.webhookKey(dsn)
	if err != nil {
		return service.WebhookOptions{}, err
	}
	if f.attempts < 1 {
		return service.WebhookOptions{}, errors.New("--webhook-attempts: at least 1")
	}
	return service.WebhookOptions{Key: key, AllowPrivate: f.allowPrivate, MaxAttempts: f.attempts, Backoff: f.backoff,
		MaxBackoff: f.maxBackoff, Timeout: f.timeout}, nil
}

// webhookKey is the key subscriptions' secrets derive from: the ledger's
// signing key (CHIPGATE_LEDGER_KEY or the key file, which signer creates on
// first start). The database holds no secret, so a copy of it forges no
// webhook; a new ledger key changes every subscription's secret.
func (f *ledgerFlags) webhookKey(dsn string) ([]byte, error) {
	text := os.Getenv("CHIPGATE_LEDGER_KEY")
	if text == "" {
		data, err := readKeyFile(f.keyPath(dsn))
		if err != nil {
			return nil, fmt.Errorf("--ledger-key: %w", err)
		}
		text = string(data)
	}
	skey, _, _ := strings.Cut(strings.TrimSpace(text), "\n")
	return []byte(skey), nil
}

func newWebhookCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "webhook", Short: "List webhook subscriptions and replay their events (operator)"}
	list := &cobra.Command{Use: "list", Short: "List every party's subscriptions with their delivery state and dead letters", Args: cobra.NoArgs}
	ldb := dbFlag(list, "")
	list.RunE = func(cmd *cobra.Command, _ []string) error {
		svc, done, err := openService(cmd, *ldb)
		if err != nil {
			return err
		}
		defer done()
		ws, err := svc.Webhooks(cmd.Context(), domain.SystemActor)
		if err != nil {
			return err
		}
		return printJSON(cmd, ws)
	}
	replay := &cobra.Command{Use: "replay", Short: "Deliver a subscription's events again from a ledger index (default: its oldest dead letter); a running server picks it up", Args: cobra.NoArgs}
	rdb := dbFlag(replay, "")
	id := replay.Flags().String("id", "", "the subscription's id")
	from := replay.Flags().Int64("from", -1, "the ledger index to deliver from (default: the oldest dead letter)")
	replay.RunE = func(cmd *cobra.Command, _ []string) error {
		sub, err := domain.ParseID(*id)
		if err != nil {
			return fmt.Errorf("--id: %q is not a subscription id", *id)
		}
		svc, done, err := openService(cmd, *rdb)
		if err != nil {
			return err
		}
		defer done()
		var in service.ReplayRequest
		if *from >= 0 {
			in.From = from
		}
		w, err := svc.ReplayWebhook(cmd.Context(), domain.SystemActor, sub, in)
		if err != nil {
			return flagError(err)
		}
		return printJSON(cmd, w)
	}
	cmd.AddCommand(list, replay)
	return cmd
}
