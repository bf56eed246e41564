package validate

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/cloonix-go/cloonix/api"
	"github.com/cloonix-go/cloonix/kind"
)

// answer is what the fake's Run gives for one "vm|user|command".
type answer struct {
	out string
	err error
}

// fakeEnv is a lab without VMs: Run answers from a map of "vm|user|command", Kind from kind.Lookup of a
// map of VM → kind name, Links from successive snapshots (the last repeats), Capture from a function.
type fakeEnv struct {
	t     testing.TB
	kinds map[string]string
	run   map[string]answer
	// seq, when it has answers for a key, gives them one per call before run's (the last repeats).
	seq     map[string][]answer
	delay   map[string]time.Duration // per VM, before Run answers (or its context ends)
	links   [][]api.LinkStatus
	capture func(ctx context.Context, targets []string) (io.ReadCloser, error)

	mu        sync.Mutex
	calls     []string
	seqCalls  map[string]int
	linkCalls int
	lastAsked time.Duration // the last Capture's last
}

func newEnv(t testing.TB, kinds map[string]string) *fakeEnv {
	return &fakeEnv{t: t, kinds: kinds, run: map[string]answer{}, seq: map[string][]answer{}, seqCalls: map[string]int{}}
}

func (e *fakeEnv) answer(vm, user, cmd, out string, err error) *fakeEnv {
	e.run[vm+"|"+user+"|"+cmd] = answer{out, err}
	return e
}

func (e *fakeEnv) Run(ctx context.Context, vm, user, command string) (string, error) {
	key := vm + "|" + user + "|" + command
	if d := e.delay[vm]; d > 0 {
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = append(e.calls, key)
	if s := e.seq[key]; len(s) > 0 {
		n := e.seqCalls[key]
		e.seqCalls[key]++
		a := s[min(n, len(s)-1)]
		return a.out, a.err
	}
	a, ok := e.run[key]
	if !ok {
		return "", fmt.Errorf("fake: no answer for %q", key)
	}
	return a.out, a.err
}

func (e *fakeEnv) Kind(_ context.Context, vm string) (*kind.Kind, error) {
	name, ok := e.kinds[vm]
	if !ok {
		return nil, fmt.Errorf("the lab has no VM %q", vm)
	}
	return kind.Lookup(name)
}

func (e *fakeEnv) Links(context.Context) ([]api.LinkStatus, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.links) == 0 {
		return nil, nil
	}
	l := e.links[min(e.linkCalls, len(e.links)-1)]
	e.linkCalls++
	return l, nil
}

func (e *fakeEnv) Capture(ctx context.Context, targets []string, last time.Duration) (io.ReadCloser, error) {
	if e.capture == nil {
		return nil, fmt.Errorf("fake: no capture")
	}
	e.mu.Lock()
	e.lastAsked = last
	e.mu.Unlock()
	return e.capture(ctx, targets)
}

func (e *fakeEnv) Calls() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.calls...)
}

// The MACs of the lab's NICs on lan12: r1:eth1 and r2:eth1.
var (
	macR1 = net.HardwareAddr{0x0e, 0, 0, 0, 0x01, 0x01}
	macR2 = net.HardwareAddr{0x0e, 0, 0, 0, 0x02, 0x01}
	macR3 = net.HardwareAddr{0x0e, 0, 0, 0, 0x03, 0x01}
)

// lan12Links are r1 and r2 on lan12 (r1's MAC in upper case, as a user may write it) and r3 on lan13.
func lan12Links() []api.LinkStatus {
	return []api.LinkStatus{
		{VM: "r1", NIC: "eth1", LAN: "lan12", MAC: "0E:00:00:00:01:01", Up: true, Carrier: true},
		{VM: "r2", NIC: "eth1", LAN: "lan12", MAC: macR2.String(), Up: true, Carrier: true},
		{VM: "r3", NIC: "eth1", LAN: "lan13", MAC: macR3.String(), Up: true, Carrier: true},
	}
}

func serialize(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// ospfHello is an OSPF packet (IP protocol 89) from src to 224.0.0.5.
func ospfHello(t testing.TB, src net.HardwareAddr, srcIP net.IP) []byte {
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 1, Protocol: 89, SrcIP: srcIP, DstIP: net.IP{224, 0, 0, 5}}
	e := &layers.Ethernet{SrcMAC: src, DstMAC: net.HardwareAddr{0x01, 0, 0x5e, 0, 0, 5}, EthernetType: layers.EthernetTypeIPv4}
	return serialize(t, e, ip, gopacket.Payload(make([]byte, 44)))
}

// tcpSegment is a TCP segment between two NICs with the given flags.
func tcpSegment(t testing.TB, src, dst net.HardwareAddr, srcIP, dstIP net.IP, sport, dport uint16, tcp layers.TCP) []byte {
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: srcIP, DstIP: dstIP}
	tcp.SrcPort, tcp.DstPort = layers.TCPPort(sport), layers.TCPPort(dport)
	tcp.SetNetworkLayerForChecksum(ip)
	e := &layers.Ethernet{SrcMAC: src, DstMAC: dst, EthernetType: layers.EthernetTypeIPv4}
	return serialize(t, e, ip, &tcp, gopacket.Payload([]byte("bgp keepalive")))
}

// pcapng is a capture stream of the frames on one interface named lan.
func pcapng(t testing.TB, lan string, frames ...[]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{Name: lan, LinkType: layers.LinkTypeEthernet}, pcapgo.NgWriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for i, f := range frames {
		ci := gopacket.CaptureInfo{Timestamp: now.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(f), Length: len(f)}
		if err := w.WritePacket(ci, f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// liveCapture answers Capture as the daemon does: the stream (header and frames) and then nothing more
// until the capture's context ends, when the stream ends. It records the targets asked for.
func liveCapture(stream []byte, asked *[]string, mu *sync.Mutex) func(context.Context, []string) (io.ReadCloser, error) {
	return func(ctx context.Context, targets []string) (io.ReadCloser, error) {
		mu.Lock()
		*asked = append(*asked, targets...)
		mu.Unlock()
		pr, pw := io.Pipe()
		go func() {
			if _, err := pw.Write(stream); err != nil {
				return // the reader stopped early (closed the stream)
			}
			<-ctx.Done()
			pw.Close()
		}()
		return pr, nil
	}
}
