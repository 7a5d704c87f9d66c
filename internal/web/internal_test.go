package web

import (
	"net/http/httptest"
	"testing"
	"time"
)

func TestCSVCellDefusesFormulas(t *testing.T) {
	for in, want := range map[string]string{
		"=HYPERLINK(\"x\")": "'=HYPERLINK(\"x\")", "+1 call": "'+1 call", "@SUM(A1)": "'@SUM(A1)", "-x": "'-x",
		"-5": "-5", "+3.5": "+3.5", "ByteDance": "ByteDance", "": "", "\tx": "'\tx",
	} {
		if got := csvCell(in); got != want {
			t.Errorf("csvCell(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzSessionCookie: no cookie value that the key did not sign reaches the
// service (the handler here has none, so reaching it would panic), and none
// panics the parser.
func FuzzSessionCookie(f *testing.F) {
	h := &handler{key: []byte("fuzz key"), ttl: time.Hour, now: time.Now}
	exp := "4102444800" // 2100-01-01
	f.Add(exp + ".cg_token." + h.mac("session", exp, "cg_token") + "x")
	f.Add("")
	f.Add("..")
	f.Add("1.2.3.4")
	f.Add(exp + ".cg_a.b.c")
	f.Fuzz(func(t *testing.T, v string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Cookie", sessionCookie+"="+v)
		if c, err := r.Cookie(sessionCookie); err == nil {
			e, rest, ok1 := cut(c.Value)
			if ok1 {
				tok, sum, ok2 := lastCut(rest)
				if ok2 && equalSecret(sum, h.mac("session", e, tok)) {
					t.Skip("a validly signed value")
				}
			}
		}
		if _, _, err := h.session(r); err == nil {
			t.Fatalf("%q opened a session", v)
		}
	})
}

func cut(s string) (string, string, bool) {
	for i := range len(s) {
		if s[i] == '.' {
			return s[:i], s[i+1:], true
		}
	}
	return "", "", false
}

func lastCut(s string) (string, string, bool) {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '.' {
			return s[:i], s[i+1:], true
		}
	}
	return "", "", false
}
