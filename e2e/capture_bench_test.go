package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/cloonix-go/cloonix/shellquote"
)

// BenchmarkCaptureGuests measures what a LAN's capture side costs real guests, in one run on one pair of
// tiny VMs joined by two LANs: 32 MiB of TCP from vm1 to vm2 over a LAN without a flight recorder
// (recorder_kib = 0), over one with the default recorder, with the recorder and a live capture whose reader
// keeps up, and with one whose reader never reads, as the guests' sender times it (MiB/s; ns/op includes
// the ssh login). bench/capture.sh guests runs it.
func BenchmarkCaptureGuests(b *testing.B) {
	ensureUserKey(b)
	const name = "cbench"
	file := writeLab(b, `
version = 1
name = "cbench"
[nat]
[[lan]]
name = "bare"
recorder_kib = 0
[[lan]]
name = "rec"
[[vm]]
name = "vm1"
nics = { eth1 = "bare", eth2 = "rec" }
[[vm]]
name = "vm2"
nics = { eth1 = "bare", eth2 = "rec" }
`)
	b.Cleanup(func() { labd(b, "--lab", name, "down") })
	if r := labd(b, "up", file); r.code != 0 {
		b.Fatalf("up: %s", r)
	}
	_, cfg := sshConfigOf(b, name)
	for i, vm := range []string{"vm1", "vm2"} {
		mustSSH(b, cfg, vm, fmt.Sprintf("ip addr add 10.6.1.%d/24 dev eth1 && ip link set eth1 up && ip addr add 10.6.2.%d/24 dev eth2 && ip link set eth2 up", i+1, i+1))
	}
	// vm2 sinks every connection on port 5001 until told to stop.
	go sshF(b, cfg, "vm2", "python3", "-c", shellquote.Quote(`
import socket, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("", 5001)); s.listen(8)
def sink(c):
    while c.recv(1 << 16): pass
    c.sendall(b"k"); c.close()
while True:
    c, _ = s.accept()
    if c.recv(4) == b"stop": break
    threading.Thread(target=sink, args=(c,)).start()`))
	time.Sleep(2 * time.Second)
	// send moves 32 MiB from vm1 to vm2 and returns how long the guest's sender took.
	send := func(b *testing.B, addr string) float64 {
		r := sshF(b, cfg, "vm1", "python3", "-c", shellquote.Quote(fmt.Sprintf(`
import socket, time
s = socket.create_connection(("%s", 5001)); s.sendall(b"data"); b = b"x" * 65536; t = time.time()
for _ in range(512): s.sendall(b)
s.shutdown(socket.SHUT_WR); s.recv(1); print(time.time() - t)`, addr)))
		var secs float64
		if _, err := fmt.Sscan(r.stdout, &secs); r.code != 0 || err != nil {
			b.Fatalf("bulk to %s: %s", addr, r)
		}
		return secs
	}
	capture := func(b *testing.B, stalled bool) func() {
		cmd := exec.Command(filepath.Join(env.bin, "cloonix-labd"), "--lab", name, "capture", "rec")
		var pr, pw *os.File
		if stalled {
			var err error
			if pr, pw, err = os.Pipe(); err != nil {
				b.Fatal(err)
			}
			cmd.Stdout = pw
		} else {
			devnull, _ := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
			cmd.Stdout = devnull
		}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
		return func() {
			if pr != nil {
				pw.Close()
				pr.Close()
			}
			cmd.Process.Signal(os.Interrupt)
			cmd.Wait()
		}
	}
	// The cases take turns, round after round, so that drift (the guests' state, the host's) falls on all.
	cases := []struct {
		name, addr string
		capture    int // 0 none, 1 fast reader, 2 stalled reader
	}{{"no-recorder", "10.6.1.2", 0}, {"recorder", "10.6.2.2", 0}, {"capture", "10.6.2.2", 1}, {"stalled", "10.6.2.2", 2}}
	secs := make([]float64, len(cases))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j, c := range cases {
			var stop func()
			if c.capture > 0 {
				stop = capture(b, c.capture == 2)
			}
			secs[j] += send(b, c.addr)
			if stop != nil {
				stop()
			}
		}
	}
	b.StopTimer()
	for j, c := range cases {
		b.ReportMetric(float64(b.N)*32/secs[j], "MiB/s-"+c.name)
	}
	sshF(b, cfg, "vm1", "python3", "-c", shellquote.Quote(`
import socket
socket.create_connection(("10.6.1.2", 5001)).sendall(b"stop")`))
}
