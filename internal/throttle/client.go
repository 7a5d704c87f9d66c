package throttle

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Proxies are the reverse proxies trusted to say who a request's client
// is, by the X-Forwarded-For header they append to. Behind one, every
// request's peer is the proxy, and throttling by peer would throttle every
// client together.
type Proxies []netip.Prefix

// ParseProxies parses addresses and CIDR prefixes ("10.0.0.0/8",
// "192.0.2.7"), naming the first it cannot read.
func ParseProxies(specs []string) (Proxies, error) {
	var out Proxies
	for _, s := range specs {
		for _, part := range strings.Split(s, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			if p, err := netip.ParsePrefix(part); err == nil {
				out = append(out, p.Masked())
				continue
			}
			a, err := netip.ParseAddr(part)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: not an address or CIDR prefix", part)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
		}
	}
	return out, nil
}

func (p Proxies) trusts(a netip.Addr) bool {
	a = a.Unmap()
	for _, pre := range p {
		if pre.Contains(a) {
			return true
		}
	}
	return false
}

// ClientAddr returns the address a request came from: its peer's; or,
// when the peer is a trusted proxy, the rightmost address of
// X-Forwarded-For that is not itself a trusted proxy. Entries left of that
// are the client's own word and never read, so a client cannot pick its
// key by sending the header itself; a malformed entry ends the walk at the
// last trusted hop.
func (p Proxies) ClientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || len(p) == 0 || !p.trusts(peer) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		client = a.Unmap()
		if !p.trusts(client) {
			break
		}
	}
	return client.String()
}
