package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/cloonix-go/cloonix/api"
	"github.com/cloonix-go/cloonix/topology"
)

// chromium is Debian's, which test.sh installs.
const chromium = "/usr/bin/chromium"

// screenshotEnv names a file to which TestWebView writes its screenshot of the OSPF lab (the README's is made
// so: CLOONIX_WEB_SCREENSHOT=$PWD/docs/web-ospf.png go test -run TestWebView ./e2e).
const screenshotEnv = "CLOONIX_WEB_SCREENSHOT"

var webURL = regexp.MustCompile(`cloonix web: (http://127\.0\.0\.1:\d+/\?token=[0-9a-f]+&lab=ospf)`)

// TestWebView serves the OSPF demo lab's page with `cloonix-labd web` and drives it in Debian's headless
// Chromium: the page shows the five VMs and six LANs; a link the CLI takes down is down in the page within a
// second; a click in the page brings it up again, as `link show` agrees; an impairment typed in the page
// reaches the switch; a link whose out direction is all lost shows one way; a capture running shows; a VM
// stopped and started from the page; a console opened in the page runs a command in the guest; a capture
// downloads pcapng; requests without the token, or for another host, are refused; `graph` of the running
// lab; `web --unix` for ssh -L.
func TestWebView(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("Debian's chromium is not installed (test.sh installs it): %v", err)
	}
	keepDemoLab(t, "ospf")
	web := startLabd(t, nil, "--lab", "ospf", "web")
	web.waitOutput(t, 10*time.Second, "Ctrl-C stops it")
	m := webURL.FindStringSubmatch(web.out.String())
	if m == nil {
		t.Fatalf("web printed no URL:\n%s", web.out.String())
	}
	page := m[1]
	u, _ := url.Parse(page)
	base := "http://" + u.Host

	t.Run("refused without the token or for another host", func(t *testing.T) {
		for _, c := range []struct{ path, host string }{
			{"/", ""}, {"/?token=0123", ""}, {"/api/graph?lab=ospf", ""}, {"/api/live?lab=ospf&token=bad", ""},
			{"/api/console?lab=ospf&vm=h1", ""}, {"/?" + u.RawQuery, "rebind.example:" + u.Port()},
		} {
			req, _ := http.NewRequest("GET", base+c.path, nil)
			if c.host != "" {
				req.Host = c.host
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			want := http.StatusForbidden
			if c.host != "" {
				want = http.StatusMisdirectedRequest
			}
			if resp.StatusCode != want {
				t.Errorf("GET %s (host %q): %d %s, want %d", c.path, c.host, resp.StatusCode, body, want)
			}
		}
		resp, err := http.Post(base+"/api/link?"+u.RawQuery, "text/plain", strings.NewReader(`{"lab":"ospf","vm":"r1","nic":"eth1","up":false}`))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("a POST with the token in the URL but not the header (a cross-site form): %d, want 403", resp.StatusCode)
			}
		}
	})

	t.Run("graph of the running lab", func(t *testing.T) {
		var g topology.Graph
		if err := json.Unmarshal([]byte(mustLabd(t, "--lab", "ospf", "graph", "--format", "json")), &g); err != nil {
			t.Fatal(err)
		}
		r1 := g.Node("vm:r1")
		if !g.Live || r1 == nil || r1.State != "running" || r1.Accel == "" || r1.IP == "" || len(g.Edges) != 16 {
			t.Errorf("the live graph: %+v", g)
		}
		svg := mustLabd(t, "--lab", "ospf", "graph", "--format", "svg")
		if !strings.HasPrefix(strings.TrimSpace(svg), "<?xml") || !strings.Contains(svg, ">lan12<") {
			t.Errorf("graph --format svg: %.300s", svg)
		}
	})

	t.Run("on a UNIX socket for ssh -L", func(t *testing.T) {
		unix := startLabd(t, nil, "--lab", "ospf", "web", "--unix")
		unix.waitOutput(t, 10*time.Second, "Ctrl-C stops it")
		out := unix.out.String()
		sm := regexp.MustCompile(`serving on (\S+web\.sock) \(0600\)\nfrom another machine: ssh -N -L 8080:(\S+) \S+@\S+\nthen open: http://127\.0\.0\.1:8080/\?token=([0-9a-f]+)&lab=ospf`).FindStringSubmatch(out)
		if sm == nil || sm[1] != sm[2] {
			t.Fatalf("web --unix printed:\n%s", out)
		}
		if st, err := os.Stat(sm[1]); err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("the socket %s: %v %v, want mode 0600", sm[1], st.Mode(), err)
		}
		hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sm[1])
		}}}
		for tok, want := range map[string]int{sm[3]: 200, "": 403} {
			resp, err := hc.Get("http://127.0.0.1:8080/api/labs?token=" + tok)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != want || (want == 200 && !strings.Contains(string(body), `"ospf"`)) {
				t.Errorf("over the socket, token %q: %d %s, want %d", tok, resp.StatusCode, body, want)
			}
		}
		if err := unix.stop(t, syscall.SIGINT, 5*time.Second); err != nil {
			t.Errorf("web --unix after Ctrl-C: %v\n%s", err, unix.out.String())
		}
		if _, err := os.Stat(sm[1]); err == nil {
			t.Errorf("the socket %s is left after Ctrl-C", sm[1])
		}
	})

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1600, 1100), chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	eval := func(t *testing.T, js string, out any) {
		t.Helper()
		raw, err := chromedp.Run(ctx, chromedp.Evaluate[json.RawMessage](js))
		if err == nil {
			err = json.Unmarshal(raw, out)
		}
		if err != nil {
			t.Fatalf("evaluate %s: %v", js, err)
		}
	}
	waitJS := func(t *testing.T, timeout time.Duration, what, js string) time.Duration {
		t.Helper()
		start := time.Now()
		for {
			var ok bool
			eval(t, js, &ok)
			if ok {
				return time.Since(start)
			}
			if time.Since(start) > timeout {
				var dump string
				eval(t, `document.querySelector("#side").innerText`, &dump)
				t.Fatalf("%s: not within %v; the page shows:\n%s", what, timeout, dump)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(page)); err != nil {
		t.Fatal(err)
	}

	t.Run("shows the VMs and LANs", func(t *testing.T) {
		waitJS(t, 30*time.Second, "the graph drawn and the live state in", `window.cloonix.ready && window.cloonix.state != null && document.querySelectorAll("#links tbody tr").length > 0`)
		var got struct {
			VMs, LANs, NATs, Edges int
			Rows                   []string
		}
		eval(t, `(() => { const cy = window.cloonix.cy; return {
			VMs: cy.nodes("[type='vm']").length, LANs: cy.nodes("[type='lan']").length, NATs: cy.nodes("[type='nat']").length,
			Edges: cy.edges().length, Rows: [...document.querySelectorAll("#vms tbody tr")].map(r => r.innerText.replace(/\s+/g, " ").trim()) } })()`, &got)
		if got.VMs != 5 || got.LANs != 6 || got.NATs != 1 || got.Edges != 16 {
			t.Errorf("the graph has %d VMs, %d LANs, %d NATs, %d edges; want 5, 6 (lan12 lan13 lan23 edge1 edge2 mgmt), 1, 16 (15 NICs and the NAT)", got.VMs, got.LANs, got.NATs, got.Edges)
		}
		rows := strings.Join(got.Rows, "\n")
		for _, vm := range []string{"r1 frr running", "r2 frr running", "r3 frr running", "h1 linux running", "h2 linux running"} {
			if !strings.Contains(rows, vm) {
				t.Errorf("the VM table lacks %q:\n%s", vm, rows)
			}
		}
	})

	linkState := `document.querySelector('tr[data-link="r1:eth1"] .state').textContent`
	t.Run("a link taken down by the CLI is down in the page within a second", func(t *testing.T) {
		mustLabd(t, "--lab", "ospf", "link", "r1", "eth1", "down")
		took := waitJS(t, 5*time.Second, "r1:eth1 down in the page", linkState+` === "down" && window.cloonix.cy.getElementById("r1:eth1").hasClass("down")`)
		t.Logf("the page showed the link down %v after the CLI returned", took)
		if took > time.Second {
			t.Errorf("the page took %v to show the link down, want at most 1s", took)
		}
	})

	t.Run("a click in the page brings it up, and the CLI agrees", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Click(`tr[data-link="r1:eth1"] button.toggle`)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "link show: r1 eth1 up", func() bool { return ospfLink(t, "r1", "eth1").Up })
		waitJS(t, 5*time.Second, "r1:eth1 up in the page", linkState+` === "up"`)
	})

	t.Run("an impairment set in the page", func(t *testing.T) {
		if err := chromedp.Do(ctx,
			chromedp.Click(`tr[data-link="r2:eth2"]`),
			chromedp.WaitVisible(`#details input.words`),
			chromedp.SendKeys(`#details input.words`, "delay=40ms loss=1%"),
			chromedp.Click(`#details button.set`)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "link show: r2 eth2 impaired", func() bool { return strings.Contains(ospfLink(t, "r2", "eth2").Out, "delay=40ms") })
		waitJS(t, 5*time.Second, "the impairment in the page", `document.querySelector('tr[data-link="r2:eth2"] .imp').textContent.includes("delay=40ms")`)
		if err := chromedp.Do(ctx, chromedp.Click(`#details button.clear`)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "link show: r2 eth2 cleared", func() bool { return ospfLink(t, "r2", "eth2").Out == "" })
	})

	t.Run("a link carrying traffic one way only", func(t *testing.T) {
		// r1 sends its hellos on eth1, the switch drops them all: only r2's come in.
		mustLabd(t, "--lab", "ospf", "link", "r1", "eth1", "set", "loss=100%")
		defer mustLabd(t, "--lab", "ospf", "link", "r1", "eth1", "clear")
		waitJS(t, 15*time.Second, "r1:eth1 shown one way (in only)", `(() => { const l = window.cloonix.state.links.find(l => l.id === "r1:eth1");
			return l.one_way === "in" && window.cloonix.cy.getElementById("r1:eth1").hasClass("oneway-in") &&
				document.querySelector('tr[data-link="r1:eth1"] .rate').textContent.includes("one way: in only") })()`)
		var others []string
		eval(t, `window.cloonix.state.links.filter(l => l.one_way && l.id !== "r1:eth1" && l.id !== "r2:eth1").map(l => l.id + " " + l.one_way)`, &others)
		if len(others) > 0 {
			t.Errorf("links shown one way that carry traffic both ways or none: %v", others)
		}
	})

	t.Run("a capture running is shown", func(t *testing.T) {
		capture := startLabd(t, nil, "--lab", "ospf", "capture", "lan13", "--for", "4s", "-w", filepath.Join(t.TempDir(), "c.pcapng"))
		waitJS(t, 3*time.Second, "lan13 shown captured", `window.cloonix.state.captures.includes("lan13") && window.cloonix.cy.getElementById("lan:lan13").hasClass("capturing")`)
		if err := capture.wait(t, 20*time.Second); err != nil {
			t.Fatalf("capture: %v\n%s", err, capture.out.String())
		}
		waitJS(t, 3*time.Second, "lan13 no longer shown captured", `!window.cloonix.state.captures.includes("lan13")`)
	})

	t.Run("the ssh command the page shows works", func(t *testing.T) {
		var cmd string
		if err := chromedp.Do(ctx, chromedp.Click(`tr[data-vm="h1"] td`), chromedp.WaitVisible(`#details code.ssh`)); err != nil {
			t.Fatal(err)
		}
		eval(t, `document.querySelector("#details code.ssh").textContent`, &cmd)
		f := strings.Fields(cmd)
		if len(f) != 4 || f[0] != "ssh" || f[1] != "-F" || f[3] != "h1" {
			t.Fatalf("the page's ssh command: %q", cmd)
		}
		if r := runCmd(t, time.Minute, "ssh", f[1], f[2], f[3], "hostname"); r.code != 0 || strings.TrimSpace(r.stdout) != "h1" {
			t.Errorf("%s hostname: %s", cmd, r)
		}
	})

	t.Run("a VM stopped and started from the page", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Click(`tr[data-vm="h2"] td`), chromedp.WaitVisible(`#details button.stop`),
			chromedp.Click(`#details button.stop`)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 60*time.Second, "status: h2 stopped", func() bool { st, _ := getStatus(t, "ospf").vm("h2"); return st == "stopped" })
		waitJS(t, 3*time.Second, "h2 stopped in the page", `document.querySelector('tr[data-vm="h2"] .state').textContent === "stopped"`)
		if err := chromedp.Do(ctx, chromedp.Click(`#details button.start`)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 2*time.Minute, "status: h2 running", func() bool { st, _ := getStatus(t, "ospf").vm("h2"); return st == "running" })
		waitJS(t, 3*time.Second, "h2 running in the page", `document.querySelector('tr[data-vm="h2"] .state').textContent === "running"`)
	})

	t.Run("a capture downloads pcapng", func(t *testing.T) {
		resp, err := http.Get(base + "/api/capture?" + u.RawQuery + "&target=lan12&for=3s&last=30s")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		file := filepath.Join(t.TempDir(), "lan12.pcapng")
		f, _ := os.Create(file)
		n, _ := io.Copy(f, resp.Body)
		f.Close()
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Disposition"), ".pcapng") {
			t.Fatalf("capture: %d %v", resp.StatusCode, resp.Header)
		}
		out, err := exec.Command("tshark", "-r", file, "-Y", "ospf", "-T", "fields", "-e", "ip.src").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "10.0.12.1") {
			t.Errorf("tshark on the page's capture (%d bytes): %v\n%s", n, err, out)
		}
	})

	t.Run("a console in the page runs a command", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Click(`tr[data-vm="h1"] button.console`),
			chromedp.WaitVisible(`#terminal .xterm`)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
		// The text goes in as the browser's text input (CDP's insertText), Enter as a key press: SendKeys's
		// synthetic key-down-then-char pairs reach xterm.js twice, which no keyboard does.
		if err := chromedp.Do(ctx, chromedp.Focus(`#terminal .xterm-helper-textarea`), insertText("echo web-$((6*7))-$(hostname)"), chromedp.KeyEvent("\r")); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		for {
			var text string
			eval(t, `window.cloonix.termText()`, &text)
			if strings.Contains(text, "web-42-h1") {
				break
			}
			if time.Since(start) > 20*time.Second {
				t.Fatalf("the console did not show the answer; it shows:\n%s", text)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})

	// The README's picture: r1's eth1 down, r2's eth2 impaired, r1 selected, h1's console open.
	mustLabd(t, "--lab", "ospf", "link", "r1", "eth1", "down")
	mustLabd(t, "--lab", "ospf", "link", "r2", "eth2", "set", "delay=20ms", "loss=2%")
	if err := chromedp.Do(ctx, chromedp.Click(`tr[data-vm="r1"] td`)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, 5*time.Second, "the picture's state in the page", linkState+` === "down" && document.querySelector('tr[data-link="r2:eth2"] .imp').textContent !== ""`)
	time.Sleep(1500 * time.Millisecond) // a rate sample or two
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(t.TempDir(), "web-ospf.png")
	if f := os.Getenv(screenshotEnv); f != "" {
		shot = f
	}
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", shot, len(png))
}

// ospfLink is a VM NIC's link as `link show --json` gives it.
func ospfLink(t *testing.T, vm, nic string) api.LinkStatus {
	t.Helper()
	var links []api.LinkStatus
	if err := json.Unmarshal([]byte(mustLabd(t, "--lab", "ospf", "link", "show", "--json")), &links); err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		if l.VM == vm && l.NIC == nic {
			return l
		}
	}
	t.Fatalf("link show has no %s %s", vm, nic)
	return api.LinkStatus{}
}

// insertText types text into the focused element as the browser's text input does.
func insertText(text string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, input.InsertText, input.InsertTextParams{Text: text})
		return err
	})
}
