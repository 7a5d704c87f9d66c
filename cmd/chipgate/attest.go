package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/chipgate/chipgate/internal/agent"
	"github.com/chipgate/chipgate/internal/attest"
	"github.com/chipgate/chipgate/internal/landmark"
	"github.com/chipgate/chipgate/internal/policy"
)

// deviceOrLandmarkKey reads an Ed25519 key file (the seed in base64 on its
// first line, the public key on its second), creating it (mode 0600) when
// create is set and it does not exist.
func deviceOrLandmarkKey(path string, create bool) (ed25519.PrivateKey, error) {
	data, err := readKeyFile(path)
	if errors.Is(err, os.ErrNotExist) && create {
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		if err := createKeyFile(path, attest.EncodePrivateKey(k), attest.EncodeKey(k.Public().(ed25519.PublicKey))); err != nil {
			return nil, fmt.Errorf("--key: %w", err)
		}
		return k, nil
	}
	if err != nil {
		return nil, fmt.Errorf("--key: %w", err)
	}
	first, _, _ := strings.Cut(strings.TrimSpace(string(data)), "\n")
	k, err := attest.ParsePrivateKey(first)
	if err != nil {
		return nil, fmt.Errorf("--key: %s: %w", path, err)
	}
	return k, nil
}

func newLandmarkCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "landmark",
		Short: "Run a landmark: a timing server that signs the round trips of devices' attested check-ins",
		Long: `Run a landmark for attested check-ins (docs/TELEMETRY.md): POST /ping answers a
device's nonce with a signed timestamp, POST /echo times the device's signed
echo and signs a receipt with the round trip.

The key is created on first start (mode 0600); its public key, printed at
start, goes into the policy file beside the landmark's coordinates
(telemetry.watch landmarks: {name, lat, lon, key}).`,
		Args: cobra.NoArgs,
	}
	addr := cmd.Flags().String("addr", "127.0.0.1:7390", "listen address")
	name := cmd.Flags().String("name", "", "the landmark's name in the policy (required)")
	keyFile := cmd.Flags().String("key", "", "file holding the landmark's signing key, created on first start (required)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if *name == "" || *keyFile == "" {
			return errors.New("--name and --key are required")
		}
		k, err := deviceOrLandmarkKey(*keyFile, true)
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", *addr)
		if err != nil {
			return err
		}
		log := slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), nil))
		log.Info("landmark listening", "name", *name, "addr", ln.Addr().String(), "key", attest.EncodeKey(k.Public().(ed25519.PublicKey)))
		srv := &http.Server{Handler: (&landmark.Server{Name: *name, Key: k}).Handler(), ReadHeaderTimeout: 5 * time.Second}
		return srv.Serve(ln)
	}
	return cmd
}

func newAgentCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "The device side of attested check-ins: keys, check-ins, and the auditor's offline check of evidence",
	}
	cmd.AddCommand(newAgentKeygenCmd(), newAgentCheckInCmd(), newVerifyEvidenceCmd())
	return cmd
}

func newAgentKeygenCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keygen",
		Short: "Create a device key (at the lab test) and print its public key for the lab's record",
		Args:  cobra.NoArgs,
	}
	keyFile := cmd.Flags().String("key", "", "file to create (mode 0600; required)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if *keyFile == "" {
			return errors.New("--key is required")
		}
		if _, err := os.Stat(*keyFile); err == nil {
			return fmt.Errorf("--key: %s exists", *keyFile)
		}
		k, err := deviceOrLandmarkKey(*keyFile, true)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(cmd.OutOrStdout(), attest.EncodeKey(k.Public().(ed25519.PublicKey)))
		return err
	}
	return cmd
}

func newAgentCheckInCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "checkin",
		Short: "Check a device in: fetch a challenge, ping the landmarks, submit signed evidence",
		Long: `Check a device in with signed evidence (docs/TELEMETRY.md). The token is the
device owner's or the vendor telemetry service's (--token, or CHIPGATE_TOKEN).
Prints the program's answer (the check-in and any alerts) as JSON; --evidence
also keeps the evidence for an auditor (chipgate agent verify-evidence).`,
		Args: cobra.NoArgs,
	}
	server := cmd.Flags().String("server", "http://127.0.0.1:8080", "the program's base URL")
	token := cmd.Flags().String("token", "", "bearer token (default: $CHIPGATE_TOKEN)")
	serial := cmd.Flags().String("serial", "", "the device's serial (required)")
	keyFile := cmd.Flags().String("key", "", "the device's key file (required)")
	lms := cmd.Flags().StringArray("landmark", nil, "NAME=URL of a landmark to ping (repeat)")
	evidenceOut := cmd.Flags().String("evidence", "", "file to write the submitted evidence to")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if *token == "" {
			*token = os.Getenv("CHIPGATE_TOKEN")
		}
		if *serial == "" || *keyFile == "" || *token == "" || len(*lms) == 0 {
			return errors.New("--serial, --key, a token and at least one --landmark are required")
		}
		k, err := deviceOrLandmarkKey(*keyFile, false)
		if err != nil {
			return err
		}
		a := &agent.Agent{Key: k, Serial: *serial, HTTP: &http.Client{Timeout: 30 * time.Second}}
		for _, l := range *lms {
			name, url, ok := strings.Cut(l, "=")
			if !ok || name == "" || url == "" {
				return fmt.Errorf("--landmark %q: NAME=URL", l)
			}
			a.Landmarks = append(a.Landmarks, agent.Landmark{Name: name, URL: url})
		}
		ev, res, err := a.CheckIn(cmd.Context(), *server, *token)
		if err != nil {
			return err
		}
		if *evidenceOut != "" {
			b, _ := json.MarshalIndent(ev, "", "  ")
			if err := os.WriteFile(*evidenceOut, append(b, '\n'), 0o644); err != nil {
				return err
			}
		}
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	return cmd
}

// readEvidence reads evidence from a file holding the evidence itself, a
// check-in (its "evidence" member) or a check-in result ("checkin").
func readEvidence(path string) (attest.Evidence, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return attest.Evidence{}, err
	}
	var probe struct {
		Evidence json.RawMessage `json:"evidence"`
		CheckIn  *struct {
			Evidence json.RawMessage `json:"evidence"`
		} `json:"checkin"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return attest.Evidence{}, fmt.Errorf("%s: %w", path, err)
	}
	switch {
	case probe.CheckIn != nil && len(probe.CheckIn.Evidence) > 0:
		data = probe.CheckIn.Evidence
	case len(probe.Evidence) > 0:
		data = probe.Evidence
	}
	var ev attest.Evidence
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil || ev.Version == "" {
		return attest.Evidence{}, fmt.Errorf("%s: not check-in evidence (%v)", path, err)
	}
	return ev, nil
}

func newVerifyEvidenceCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "verify-evidence FILE",
		Short: "Check a check-in's evidence offline, with public keys only: the device's signature, each landmark's, and where the round trips put the device",
		Long: `Check attested check-in evidence offline (docs/TELEMETRY.md). FILE holds the
evidence, a check-in that carries it (GET /api/v1/ledger/entries/{i} payloads,
the check-in answer) or what "agent checkin --evidence" wrote. The landmarks'
public keys and coordinates come from the policy file (--policy; default the
embedded one, at --at); --device-key is the key the lab recorded for the
serial (the shipment's lab test in the ledger). --site LAT,LON prints the
site's distance against each bound.

Exits 1 when a signature does not verify or the device key is not the one
given; 0 otherwise. The nonce's freshness is the program's to check (every
used nonce is in the ledger's check-in records: a nonce twice is a replay).`,
		Args: cobra.ExactArgs(1),
	}
	file := cmd.Flags().String("policy", "", "policy file (default: the embedded default policy)")
	at := cmd.Flags().String("at", "", "instant of the policy: YYYY-MM-DD or RFC 3339; default now")
	devKey := cmd.Flags().String("device-key", "", "the device key the lab recorded (base64)")
	site := cmd.Flags().String("site", "", "LAT,LON of the licensed site")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		ev, err := readEvidence(args[0])
		if err != nil {
			return err
		}
		pol, err := readPolicy(*file)
		if err != nil {
			return err
		}
		when, err := parseInstant(*at)
		if err != nil {
			return err
		}
		rules := pol.At(when)
		geo, _ := rules.Geolocation()
		var siteLat, siteLon float64
		hasSite := *site != ""
		if hasSite {
			la, lo, ok := strings.Cut(*site, ",")
			var e1, e2 error
			siteLat, e1 = strconv.ParseFloat(strings.TrimSpace(la), 64)
			siteLon, e2 = strconv.ParseFloat(strings.TrimSpace(lo), 64)
			if !ok || e1 != nil || e2 != nil {
				return fmt.Errorf("--site %q: LAT,LON", *site)
			}
		}
		res := attest.Verify(ev, rules.LandmarkKey)
		out := cmd.OutOrStdout()
		bad := false
		key := attest.EncodeKey(ev.DeviceKey)
		fmt.Fprintf(out, "serial %s, device key %s, nonce %x\n", ev.Serial, key, ev.Nonce)
		if *devKey != "" && *devKey != key {
			bad = true
			fmt.Fprintf(out, "FAIL device key: the evidence's key is not the recorded %s\n", *devKey)
		}
		if res.DeviceSignatureValid {
			fmt.Fprintln(out, "ok   device signature")
		} else {
			bad = true
			fmt.Fprintln(out, "FAIL device signature")
		}
		for _, r := range res.Receipts {
			if !r.Valid {
				bad = true
				fmt.Fprintf(out, "FAIL %s: %s\n", r.Landmark, r.Problem)
				continue
			}
			max := policy.MaxDistanceKM(r.RTTMS, geo.FiberKMPerMSOneWay)
			line := fmt.Sprintf("ok   %s: round trip %.3f ms, device within %.0f km (%g km/ms one way)", r.Landmark, r.RTTMS, math.Round(max), geo.FiberKMPerMSOneWay)
			if l, ok := rules.Landmark(r.Landmark); ok && hasSite {
				d := policy.DistanceKM(siteLat, siteLon, l.Lat, l.Lon)
				verdict := "the site is within the bound"
				if d > max {
					verdict = fmt.Sprintf("the site is outside it: the device is at least %.0f km from the site", math.Round(d-max))
				}
				line += fmt.Sprintf("; site %.0f km away: %s", math.Round(d), verdict)
			}
			fmt.Fprintln(out, line)
		}
		if bad {
			return &exitError{code: 1, err: errors.New("the evidence does not verify")}
		}
		return nil
	}
	return cmd
}
