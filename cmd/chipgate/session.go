package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/chipgate/chipgate/internal/store"
	"github.com/chipgate/chipgate/internal/throttle"
	"github.com/chipgate/chipgate/internal/web"
)

// webFlags configure the dashboard's sessions.
type webFlags struct {
	keyFile       string
	secureCookies bool
	ttl           time.Duration
	idle          time.Duration
	proxies       []string
}

func addWebFlags(cmd *cobra.Command) *webFlags {
	f := &webFlags{}
	cmd.Flags().StringVar(&f.keyFile, "session-key", os.Getenv("CHIPGATE_SESSION_KEY_FILE"),
		"file holding the dashboard's session key (64 hex digits), created (mode 0600) on first start; replicas behind one address share it (env CHIPGATE_SESSION_KEY_FILE; default: beside a SQLite database, else ./chipgate-session.key)")
	cmd.Flags().BoolVar(&f.secureCookies, "secure-cookies", os.Getenv("CHIPGATE_SECURE_COOKIES") == "1",
		"mark session cookies Secure even on plain HTTP: for a server behind a proxy that terminates TLS (env CHIPGATE_SECURE_COOKIES=1)")
	cmd.Flags().DurationVar(&f.ttl, "session-ttl", web.DefaultSessionTTL, "how long a dashboard sign-in lasts at most")
	cmd.Flags().DurationVar(&f.idle, "session-idle", web.DefaultSessionIdle, "how long an unused dashboard session lasts")
	cmd.Flags().StringSliceVar(&f.proxies, "trusted-proxy", nil,
		"address or CIDR prefix of a reverse proxy whose X-Forwarded-For names the client, for throttling failed sign-ins per client (repeatable; default: none, the peer is the client)")
	return f
}

// sessionKeyBytes is the size of a session key.
const sessionKeyBytes = 32

// options returns the dashboard's options for the database dsn: the session
// key from its file, which is created on first start.
func (f *webFlags) options(dsn string, log *slog.Logger) (web.Options, error) {
	if f.ttl <= 0 {
		return web.Options{}, errors.New("--session-ttl: must be positive")
	}
	if f.idle <= 0 {
		return web.Options{}, errors.New("--session-idle: must be positive")
	}
	proxies, err := throttle.ParseProxies(f.proxies)
	if err != nil {
		return web.Options{}, fmt.Errorf("--trusted-proxy: %w", err)
	}
	path := f.keyFile
	if path == "" {
		path = "chipgate-session.key"
		if !store.IsPostgres(dsn) {
			path = filepath.Join(filepath.Dir(dsn), "chipgate-session.key")
		}
	}
	key, err := readSessionKey(path)
	if errors.Is(err, os.ErrNotExist) {
		key, err = createSessionKey(path)
	}
	if err != nil {
		return web.Options{}, fmt.Errorf("--session-key: %w", err)
	}
	return web.Options{Log: log, Key: key, SessionTTL: f.ttl, SessionIdle: f.idle, SecureCookies: f.secureCookies, TrustedProxies: proxies}, nil
}

func readSessionKey(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(key) < sessionKeyBytes {
		return nil, fmt.Errorf("%s: want at least %d hex digits", path, 2*sessionKeyBytes)
	}
	return key, nil
}

func createSessionKey(path string) ([]byte, error) {
	key := make([]byte, sessionKeyBytes)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) { // another replica made it first
		return readSessionKey(path)
	} else if err != nil {
		return nil, err
	}
	_, werr := fmt.Fprintln(fh, hex.EncodeToString(key))
	if err := errors.Join(werr, fh.Sync(), fh.Close()); err != nil {
		return nil, err
	}
	return key, nil
}
