package webview

import (
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/cloonix-go/cloonix/api"
	"github.com/cloonix-go/cloonix/impair"
)

func testServer(t *testing.T, only string) *Server {
	t.Helper()
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir()) // no lab is up there
	s, err := newServer(Options{Lab: only}, fstest.MapFS{"index.html": {Data: []byte("<title>cloonix web</title>")}, "app.js": {Data: []byte("//")}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func do(t *testing.T, s *Server, method, target, host string, header map[string]string, body string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.Host = host
	for k, v := range header {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, req)
	return w.Code, strings.TrimSpace(w.Body.String())
}

func TestTokenAndHost(t *testing.T) {
	s := testServer(t, "")
	if len(s.Token()) != 48 || testServer(t, "").Token() == s.Token() {
		t.Fatalf("tokens are not random 24-byte hex: %q", s.Token())
	}
	tok := "?token=" + s.Token()
	hdr := map[string]string{TokenHeader: s.Token()}
	for _, c := range []struct {
		method, target, host string
		header               map[string]string
		want                 int
		body                 string
	}{
		{"GET", "/", "127.0.0.1:8080", nil, 403, "token is missing"},
		{"GET", "/?token=nope", "127.0.0.1:8080", nil, 403, "token is missing"},
		{"GET", "/" + tok, "127.0.0.1:8080", nil, 200, "<title>cloonix web"},
		{"GET", "/" + tok, "localhost:8080", nil, 200, "<title>cloonix web"},
		{"GET", "/" + tok, "[::1]:8080", nil, 200, "<title>cloonix web"},
		{"GET", "/" + tok, "evil.example:8080", nil, 421, "only requests to 127.0.0.1"},
		{"GET", "/" + tok, "10.0.0.1:8080", nil, 421, "only requests to 127.0.0.1"},
		{"GET", "/assets/app.js", "127.0.0.1:8080", nil, 200, "//"},
		{"GET", "/api/labs", "127.0.0.1:8080", nil, 403, "token is missing"},
		{"GET", "/api/labs", "127.0.0.1:8080", hdr, 200, `"labs":null`},
		{"GET", "/api/graph" + tok + "&lab=ospf", "127.0.0.1:8080", nil, 404, "lab ospf is not up; start it with: cloonix-labd up LABFILE"},
		{"GET", "/api/graph" + tok + "&lab=Bad_Name", "127.0.0.1:8080", nil, 400, "bad request"},
		{"GET", "/api/graph" + tok, "127.0.0.1:8080", nil, 400, "name the lab"},
		// A POST must carry the token in its header: a form on another site could put it in a URL.
		{"POST", "/api/link" + tok, "127.0.0.1:8080", nil, 403, "token is missing"},
		{"POST", "/api/link", "127.0.0.1:8080", hdr, 404, "lab ospf is not up"},
		{"GET", "/api/capture" + tok + "&lab=ospf", "127.0.0.1:8080", nil, 400, "target=LAN"},
		{"GET", "/api/capture" + tok + "&lab=ospf&target=lan12&for=2d", "127.0.0.1:8080", nil, 400, "give a duration"},
	} {
		body := ""
		if c.method == "POST" {
			body = `{"lab":"ospf","vm":"r1","nic":"eth1","up":false}`
		}
		code, got := do(t, s, c.method, c.target, c.host, c.header, body)
		if code != c.want || !strings.Contains(got, c.body) {
			t.Errorf("%s %s (host %s): %d %q, want %d with %q", c.method, c.target, c.host, code, got, c.want, c.body)
		}
	}
	code, got := do(t, s, "POST", "/api/link", "127.0.0.1:1", hdr, `{"lab":"ospf","bogus":1}`)
	if code != 400 || !strings.Contains(got, "unknown field") {
		t.Errorf("a body with an unknown field: %d %q", code, got)
	}
}

func TestOnlyOneLab(t *testing.T) {
	s := testServer(t, "ospf")
	code, got := do(t, s, "GET", "/api/graph?token="+s.Token()+"&lab=bgp", "127.0.0.1:1", nil, "")
	if code != 404 || !strings.Contains(got, "serves lab ospf only") {
		t.Errorf("another lab: %d %q", code, got)
	}
	if u := s.URL("127.0.0.1:8080", "ospf"); u != "http://127.0.0.1:8080/?token="+s.Token()+"&lab=ospf" {
		t.Errorf("URL %s", u)
	}
}

func TestRatesAndOneWay(t *testing.T) {
	r := newRates()
	t0 := time.Unix(1000, 0)
	link := func(rx, tx uint64, out *impair.Stats) []api.LinkStatus {
		return []api.LinkStatus{{VM: "r1", NIC: "eth1", RxFrames: rx, TxFrames: tx, RxBytes: rx * 100, TxBytes: tx * 100, OutStats: out}}
	}
	if l := r.add(link(10, 10, nil), t0)[0]; l.RxFPS != 0 || l.OneWay != "" || l.ID != "r1:eth1" {
		t.Errorf("first sample: %+v", l)
	}
	l := r.add(link(12, 14, nil), t0.Add(2*time.Second))[0]
	if l.RxFPS != 1 || l.TxFPS != 2 || l.RxBPS != 800 || l.OneWay != "" {
		t.Errorf("rates: %+v", l)
	}
	// r1 sends (the switch counts it) but loss=100% drops it all: only what comes in is delivered. Samples
	// come fast (events), but the window is time: not one way until 5 s of it.
	lost := func(sent uint64) *impair.Stats { return &impair.Stats{Lost: sent - 12} }
	for i := range 20 {
		at := t0.Add(2*time.Second + time.Duration(i+1)*200*time.Millisecond)
		if l = r.add(link(13+uint64(i), 15+uint64(i), lost(13+uint64(i))), at)[0]; l.OneWay != "" {
			t.Fatalf("one way after %v of it", at.Sub(t0.Add(2*time.Second)))
		}
	}
	for i := range 6 {
		sent := uint64(40 + i)
		l = r.add(link(sent, 40+uint64(i), lost(sent)), t0.Add(time.Duration(7+i)*time.Second))[0]
	}
	if l.OneWay != "in" || l.RxFPS != 0 || l.TxFPS != 1 {
		t.Errorf("a link whose out direction is lost: %+v", l)
	}
	// A lone frame one way is not "one way".
	r = newRates()
	r.add(link(0, 0, nil), t0)
	for i := range 8 {
		l = r.add(link(1, 0, nil), t0.Add(time.Duration(1+i)*time.Second))[0]
	}
	if l.OneWay != "" {
		t.Errorf("one frame out and nothing back is shown %q", l.OneWay)
	}
}

func TestCapturesFromEvents(t *testing.T) {
	c := captures{}
	for _, e := range []api.Event{
		{Kind: "capture", What: "started", Detail: "lan12 r1:eth1"},
		{Kind: "capture", What: "started", Detail: "lan12"},
		{Kind: "link", What: "down", Detail: "lan99"},
		{Kind: "capture", What: "stopped", Detail: "lan12 r1:eth1: 12 frames, 0 dropped"},
	} {
		c.apply(e)
	}
	if got := strings.Join(c.list(), " "); got != "lan12" {
		t.Errorf("captures running: %q, want lan12 (one of its two ended)", got)
	}
}
