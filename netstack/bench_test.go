package netstack

import (
	"context"
	"io"
	"sort"
	"testing"
	"time"

	"github.com/cloonix-go/cloonix/netstack/fakeguest"
)

// BenchmarkDialInThroughput measures host→VM bulk TCP through DialTCP into the fake guest along the
// production path: NAT → lan.Switch → lan.RunQemuPort → qemu stream unix socket → fake guest (the
// ProxyCommand path minus the control socket).
func BenchmarkDialInThroughput(b *testing.B) {
	for _, mtu := range []int{1500, 65520} {
		b.Run(map[int]string{1500: "mtu1500", 65520: "mtu65520"}[mtu], func(b *testing.B) {
			h := newLANHarness(b, mtu)
			l, err := h.guest.Listen(5001)
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			done := make(chan int64, 1)
			go func() {
				c, err := l.Accept()
				if err != nil {
					done <- 0
					return
				}
				n, _ := fakeguest.Sink(c) // 256 KiB reads: io.Copy into io.Discard reads 8 KiB at a time

				c.Close()
				done <- n
			}()
			c, err := h.dial(context.Background(), 5001)
			if err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, copyBufSize)
			b.SetBytes(int64(len(buf)))
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if _, err := c.Write(buf); err != nil {
					b.Fatal(err)
				}
			}
			_ = c.(interface{ CloseWrite() error }).CloseWrite()
			got := <-done
			el := time.Since(start)
			b.StopTimer()
			c.Close()
			if got != int64(b.N)*int64(len(buf)) {
				b.Fatalf("guest got %d bytes, want %d", got, int64(b.N)*int64(len(buf)))
			}
			b.ReportMetric(float64(got)*8/el.Seconds()/1e9, "Gbit/s")
		})
	}
}

// BenchmarkConnectLatency measures DialTCP + 1 byte each way + close, and reports p50/p99.
func BenchmarkConnectLatency(b *testing.B) {
	for _, mtu := range []int{1500, 65520} {
		b.Run(map[int]string{1500: "mtu1500", 65520: "mtu65520"}[mtu], func(b *testing.B) { benchLatency(b, mtu) })
	}
}

func benchLatency(b *testing.B, mtu int) {
	h := newLANHarness(b, mtu)
	l, err := h.guest.Listen(7)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				var one [1]byte
				if _, err := io.ReadFull(c, one[:]); err == nil {
					_, _ = c.Write(one[:])
				}
				c.Close()
			}()
		}
	}()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		c, err := h.dial(context.Background(), 7)
		if err != nil {
			b.Fatal(err)
		}
		var one = [1]byte{'x'}
		if _, err := c.Write(one[:]); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, one[:]); err != nil {
			b.Fatal(err)
		}
		c.Close()
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
