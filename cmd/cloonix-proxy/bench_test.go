package main

import (
	"io"
	"os/exec"
	"testing"
	"time"
)

// BenchmarkProxyStartup measures exec of the built proxy to the tunnel being
// ready: the first byte of the VM's banner arriving on the proxy's stdout.
func BenchmarkProxyStartup(b *testing.B) {
	e := newEnv(b, &backend{targets: map[string]string{"vm1": echoServer(b, "SSH-2.0-bench\r\n")}})
	var total time.Duration
	for b.Loop() {
		cmd := e.command("nemo", "nat", "vm1")
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		start := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		var one [1]byte
		if _, err := io.ReadFull(stdout, one[:]); err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		stdin.Close()
		io.Copy(io.Discard, stdout)
		if err := cmd.Wait(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N)/1000, "ms/ready")
}

// BenchmarkProxyStartupBaseline execs /bin/true, the floor of exec cost here.
func BenchmarkProxyStartupBaseline(b *testing.B) {
	for b.Loop() {
		if err := exec.Command("/bin/true").Run(); err != nil {
			b.Fatal(err)
		}
	}
}
