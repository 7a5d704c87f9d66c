package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/chipgate/chipgate/internal/chipgatetest"
	"github.com/chipgate/chipgate/internal/service"
)

// TestWebhookCLI: the operator lists every party's subscriptions and
// rewinds one (replay), which a running server's worker then follows; a
// replay with no dead letter and no --from names the flag.
func TestWebhookCLI(t *testing.T) {
	kit := chipgatetest.New(t)
	w, err := kit.Service.CreateWebhook(context.Background(), kit.Actor("bytedance"), service.WebhookRequest{URL: "http://127.0.0.1:9/hook"})
	if err != nil {
		t.Fatal(err)
	}
	out, err := runChipgate(t, "webhook", "list", "--db", kit.DSN)
	if err != nil || !strings.Contains(out, w.ID.String()) || strings.Contains(out, "whsec_") {
		t.Fatalf("webhook list: %v\n%s", err, out)
	}
	out, err = runChipgate(t, "webhook", "replay", "--db", kit.DSN, "--id", w.ID.String(), "--from", "3")
	if err != nil {
		t.Fatalf("webhook replay: %v\n%s", err, out)
	}
	var got service.Webhook
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.NextIndex != 3 {
		t.Fatalf("after replay --from 3: %v %s", err, out)
	}
	if _, err := runChipgate(t, "webhook", "replay", "--db", kit.DSN, "--id", w.ID.String()); err == nil || !strings.Contains(err.Error(), "--from") {
		t.Fatalf("replay without dead letters or --from: %v", err)
	}
}
