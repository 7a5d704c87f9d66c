package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chipgate/chipgate/internal/web"
)

func TestSessionKeyFile(t *testing.T) {
	dir := t.TempDir()
	dsn := filepath.Join(dir, "chipgate.db")
	f := &webFlags{ttl: web.DefaultSessionTTL, idle: web.DefaultSessionIdle}
	first, err := f.options(dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "chipgate-session.key")
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("session key beside the database: %v, %v; want mode 0600", info, err)
	}
	if len(first.Key) != sessionKeyBytes || first.SessionTTL != web.DefaultSessionTTL || first.SecureCookies {
		t.Fatalf("options = %+v", first)
	}
	// A second start (or a replica given the same file) uses the same key.
	again, err := f.options(dsn, nil)
	if err != nil || !bytes.Equal(again.Key, first.Key) {
		t.Fatalf("second start: key %x, %v; want %x", again.Key, err, first.Key)
	}
	// A key file that is not a key is refused, naming the flag.
	bad := filepath.Join(dir, "bad.key")
	if err := os.WriteFile(bad, []byte("not hex\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.keyFile = bad
	if _, err := f.options(dsn, nil); err == nil || !strings.HasPrefix(err.Error(), "--session-key: ") {
		t.Fatalf("a bad key file: %v", err)
	}
	f.keyFile, f.ttl = "", 0
	if _, err := f.options(dsn, nil); err == nil || !strings.HasPrefix(err.Error(), "--session-ttl: ") {
		t.Fatalf("a zero session TTL: %v", err)
	}
}
