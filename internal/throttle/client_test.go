package throttle_test

import (
	"net/http/httptest"
	"testing"

	"github.com/chipgate/chipgate/internal/throttle"
)

func TestClientAddr(t *testing.T) {
	proxies, err := throttle.ParseProxies([]string{"10.0.0.0/8, 192.0.2.7", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		proxies throttle.Proxies
		peer    string
		xff     []string
		want    string
	}{
		{"NoProxiesIgnoresTheHeader", nil, "198.51.100.1:4000", []string{"203.0.113.9"}, "198.51.100.1"},
		{"UntrustedPeerCannotSpoof", proxies, "198.51.100.1:4000", []string{"203.0.113.9"}, "198.51.100.1"},
		{"TrustedProxy", proxies, "10.1.2.3:4000", []string{"203.0.113.9"}, "203.0.113.9"},
		{"ChainOfProxies", proxies, "10.1.2.3:4000", []string{"203.0.113.9, 192.0.2.7", "10.9.9.9"}, "203.0.113.9"},
		{"ClientsOwnEntriesNotRead", proxies, "10.1.2.3:4000", []string{"1.1.1.1, 203.0.113.9"}, "203.0.113.9"},
		{"MalformedStopsAtLastTrustedHop", proxies, "10.1.2.3:4000", []string{"203.0.113.9, junk, 10.9.9.9"}, "10.9.9.9"},
		{"NoHeader", proxies, "10.1.2.3:4000", nil, "10.1.2.3"},
		{"IPv6Loopback", proxies, "[::1]:4000", []string{"2001:db8::5"}, "2001:db8::5"},
		{"AllTrusted", proxies, "10.1.2.3:4000", []string{"10.0.0.1"}, "10.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.peer
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := tc.proxies.ClientAddr(r); got != tc.want {
				t.Fatalf("client %q, want %q", got, tc.want)
			}
		})
	}
	if _, err := throttle.ParseProxies([]string{"10.0.0.0/33"}); err == nil {
		t.Fatal("parsed 10.0.0.0/33")
	}
}
