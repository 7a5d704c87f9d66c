package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// CheckURL returns an error unless raw is an absolute http or https URL
// with a host, no user information and no fragment; unless allowPrivate,
// a host that is an IP literal or "localhost" must be a public address.
// Names are resolved at delivery, where Dialer refuses private addresses
// (so that a name resolving to one later is refused too).
func CheckURL(raw string, allowPrivate bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("must be a URL")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return errors.New("must be an http or https URL")
	case u.Host == "" || u.Hostname() == "":
		return errors.New("must name a host")
	case u.User != nil:
		return errors.New("must not carry user information")
	case u.Fragment != "":
		return errors.New("must not carry a fragment")
	}
	if allowPrivate {
		return nil
	}
	host := strings.ToLower(u.Hostname())
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return errors.New("must not be a loopback address (the server refuses private receivers)")
	}
	if ip, err := netip.ParseAddr(host); err == nil && !Public(ip) {
		return errors.New("must not be a loopback, private or link-local address (the server refuses private receivers)")
	}
	return nil
}

// Public reports whether ip is a public unicast address: not loopback,
// private (RFC 1918, RFC 4193), link-local, multicast or unspecified.
func Public(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsGlobalUnicast() && !ip.IsPrivate() && !ip.IsLoopback() && !ip.IsLinkLocalUnicast()
}

// Dialer returns a dialer for deliveries; unless allowPrivate, it refuses
// to connect to an address that is not Public, whatever the name resolved
// to, so that a receiver's DNS cannot point deliveries into the server's
// own network.
func Dialer(timeout time.Duration, allowPrivate bool) *net.Dialer {
	d := &net.Dialer{Timeout: timeout}
	if !allowPrivate {
		d.ControlContext = func(_ context.Context, _, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("webhook: refusing %s: %w", address, err)
			}
			if !Public(ap.Addr()) {
				return fmt.Errorf("webhook: refusing the private address %s", ap.Addr())
			}
			return nil
		}
	}
	return d
}
