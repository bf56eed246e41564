package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"time"
)

// dialFunc opens a byte stream to port on the guest through the tool under test.
type dialFunc func(ctx context.Context, port uint16) (net.Conn, error)

// result is what a measuring subcommand prints, as one line of JSON.
type result struct {
	Tool    string    `json:"tool"`
	MTU     int       `json:"mtu"`
	Bytes   int64     `json:"bytes_per_run"`
	Gbps    []float64 `json:"gbps"`
	Samples int       `json:"samples"`
	P50us   float64   `json:"p50_us"`
	P99us   float64   `json:"p99_us"`
	LatUs   []float64 `json:"lat_us"` // every sample, sorted, so that rounds can be merged
	// The request/response test: 1 byte each way on one open connection, many round trips.
	RRSamples int       `json:"rr_samples"`
	RRP50us   float64   `json:"rr_p50_us"`
	RRP99us   float64   `json:"rr_p99_us"`
	RRUs      []float64 `json:"rr_us"` // every round trip, sorted
}

// measureFlags are the workload flags of both measuring subcommands.
type measureFlags struct {
	bytes    int64
	runs     int
	samples  int
	sinkPort uint
	echoPort uint
	rrPort   uint
	rrTrips  int
	timeout  time.Duration
}

func newFlagSet(name string) *flag.FlagSet {
	return flag.NewFlagSet("fakeguest "+name, flag.ContinueOnError)
}

func (m *measureFlags) register(fs *flag.FlagSet) {
	fs.Int64Var(&m.bytes, "bytes", 1<<30, "bytes per throughput run")
	fs.IntVar(&m.runs, "runs", 3, "throughput runs")
	fs.IntVar(&m.samples, "samples", 200, "connect + 1 byte + close samples")
	fs.UintVar(&m.sinkPort, "sink-port", 5001, "the guest's TCP sink port")
	fs.UintVar(&m.echoPort, "echo-port", 7, "the guest's TCP 1-byte echo port")
	fs.UintVar(&m.rrPort, "rr-port", 7008, "the guest's TCP stream echo port (request/response)")
	fs.IntVar(&m.rrTrips, "rr", 5000, "request/response round trips (1 byte each way on one connection)")
	fs.DurationVar(&m.timeout, "timeout", 30*time.Second, "how long to wait for the guest to be reachable")
}

// measure waits until the guest answers, then runs the throughput and latency tests.
func measure(ctx context.Context, tool string, mtu int, m measureFlags, dial dialFunc) error {
	if err := waitReachable(ctx, m, dial); err != nil {
		return fmt.Errorf("%s: guest not reachable within %s: %w", tool, m.timeout, err)
	}
	res := result{Tool: tool, MTU: mtu, Bytes: m.bytes, Samples: m.samples}
	for i := 0; i < m.runs; i++ {
		g, err := throughput(ctx, dial, uint16(m.sinkPort), m.bytes)
		if err != nil {
			return fmt.Errorf("%s: throughput run %d: %w", tool, i+1, err)
		}
		res.Gbps = append(res.Gbps, g)
	}
	lat, err := latency(ctx, dial, uint16(m.echoPort), m.samples)
	if err != nil {
		return fmt.Errorf("%s: latency: %w", tool, err)
	}
	for _, d := range lat {
		res.LatUs = append(res.LatUs, us(d))
	}
	res.P50us, res.P99us = percentile(res.LatUs, 50), percentile(res.LatUs, 99)
	rr, err := requestResponse(ctx, dial, uint16(m.rrPort), m.rrTrips)
	if err != nil {
		return fmt.Errorf("%s: request/response: %w", tool, err)
	}
	for _, d := range rr {
		res.RRUs = append(res.RRUs, us(d))
	}
	res.RRSamples = len(rr)
	res.RRP50us, res.RRP99us = percentile(res.RRUs, 50), percentile(res.RRUs, 99)
	return json.NewEncoder(os.Stdout).Encode(res)
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }

// percentile returns the p-th percentile (nearest rank) of sorted.
func percentile(sorted []float64, p int) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	return sorted[max(0, min(len(sorted)-1, i-1))]
}

// waitReachable retries the 1-byte echo until it works (the guest may still be taking its lease).
func waitReachable(ctx context.Context, m measureFlags, dial dialFunc) error {
	end := time.Now().Add(m.timeout)
	for {
		_, err := echoOnce(ctx, dial, uint16(m.echoPort))
		if err == nil {
			return nil
		}
		if time.Now().After(end) || ctx.Err() != nil {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// throughput sends total bytes to the sink, half-closes, and waits for the sink's byte count.
func throughput(ctx context.Context, dial dialFunc, port uint16, total int64) (float64, error) {
	c, err := dial(ctx, port)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	buf := make([]byte, 256<<10)
	start := time.Now()
	for left := total; left > 0; {
		n := int64(len(buf))
		if left < n {
			n = left
		}
		if _, err := c.Write(buf[:n]); err != nil {
			return 0, fmt.Errorf("write: %w", err)
		}
		left -= n
	}
	cw, ok := c.(interface{ CloseWrite() error })
	if !ok {
		return 0, fmt.Errorf("connection %T cannot half-close", c)
	}
	if err := cw.CloseWrite(); err != nil {
		return 0, fmt.Errorf("half-close: %w", err)
	}
	var cnt [8]byte
	if _, err := io.ReadFull(c, cnt[:]); err != nil {
		return 0, fmt.Errorf("read the sink's byte count: %w", err)
	}
	el := time.Since(start)
	if got := int64(binary.BigEndian.Uint64(cnt[:])); got != total {
		return 0, fmt.Errorf("the guest got %d bytes, want %d", got, total)
	}
	return float64(total) * 8 / el.Seconds() / 1e9, nil
}

// echoOnce is one connect + 1 byte each way + close.
func echoOnce(ctx context.Context, dial dialFunc, port uint16) (time.Duration, error) {
	start := time.Now()
	c, err := dial(ctx, port)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	one := []byte{'x'}
	if _, err := c.Write(one); err != nil {
		return 0, fmt.Errorf("write: %w", err)
	}
	if _, err := io.ReadFull(c, one); err != nil {
		return 0, fmt.Errorf("read the echo: %w", err)
	}
	_ = c.Close()
	return time.Since(start), nil
}

// latency returns the sorted connect + 1 byte + close times, after 10 warm-up rounds.
func latency(ctx context.Context, dial dialFunc, port uint16, samples int) ([]time.Duration, error) {
	if samples < 1 {
		return nil, fmt.Errorf("-samples %d: want at least 1", samples)
	}
	out := make([]time.Duration, 0, samples)
	for i := -10; i < samples; i++ {
		d, err := echoOnce(ctx, dial, port)
		if err != nil {
			return nil, fmt.Errorf("sample %d: %w", i, err)
		}
		if i >= 0 {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// requestResponse opens one connection to the stream echo and times trips round trips of 1 byte each
// way on it (netperf's TCP_RR), after 100 warm-up trips. It returns the sorted times.
func requestResponse(ctx context.Context, dial dialFunc, port uint16, trips int) ([]time.Duration, error) {
	if trips < 1 {
		return nil, fmt.Errorf("-rr %d: want at least 1", trips)
	}
	c, err := dial(ctx, port)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	defer stop()
	out := make([]time.Duration, 0, trips)
	one := []byte{'r'}
	for i := -100; i < trips; i++ {
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		start := time.Now()
		if _, err := c.Write(one); err != nil {
			return nil, fmt.Errorf("round trip %d: write: %w", i, err)
		}
		if _, err := io.ReadFull(c, one); err != nil {
			return nil, fmt.Errorf("round trip %d: read the echo: %w", i, err)
		}
		if i >= 0 {
			out = append(out, time.Since(start))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// handshake reads exactly "OK" from c, the answer of both fronts once the guest connection is open.
func handshake(c net.Conn) error {
	var ok [2]byte
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c, ok[:]); err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	_ = c.SetReadDeadline(time.Time{})
	if string(ok[:]) != "OK" {
		return fmt.Errorf("handshake: got %q, want OK", ok[:])
	}
	return nil
}

func runGvproxy(ctx context.Context, args []string) error {
	fs := newFlagSet("gvproxy")
	var m measureFlags
	m.register(fs)
	api := fs.String("api", "", "gvproxy's -listen unix socket path (required)")
	ip := fs.String("ip", "192.168.127.2", "the guest's address")
	mtu := fs.Int("mtu", 1500, "the MTU gvproxy and the guest run at (only reported)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *api == "" {
		return fmt.Errorf("gvproxy: -api is required")
	}
	var d net.Dialer
	dial := func(ctx context.Context, port uint16) (net.Conn, error) {
		c, err := d.DialContext(ctx, "unix", *api)
		if err != nil {
			return nil, fmt.Errorf("dial gvproxy API %s: %w", *api, err)
		}
		// gvproxy hijacks the HTTP connection, writes "OK" and then copies raw bytes.
		if _, err := fmt.Fprintf(c, "POST /tunnel?ip=%s&port=%d HTTP/1.1\r\nHost: gvproxy\r\nContent-Length: 0\r\n\r\n", *ip, port); err != nil {
			c.Close()
			return nil, fmt.Errorf("gvproxy /tunnel request: %w", err)
		}
		if err := handshake(c); err != nil {
			c.Close()
			return nil, fmt.Errorf("gvproxy /tunnel: %w", err)
		}
		return c, nil
	}
	return measure(ctx, "gvproxy", *mtu, m, dial)
}
