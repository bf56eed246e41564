package lan

import (
	"sync"
	"testing"
	"time"
)

var (
	macA     = []byte{0x02, 0, 0, 0, 0, 0xa}
	macB     = []byte{0x02, 0, 0, 0, 0, 0xb}
	macC     = []byte{0x02, 0, 0, 0, 0, 0xc}
	macX     = []byte{0x02, 0, 0, 0, 0, 0x99}
	macBcast = []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	macMcast = []byte{0x01, 0x00, 0x5e, 0x00, 0x00, 0x05}
)

// frame builds an Ethernet frame of size bytes (at least 14) from src to dst, with tag in the payload.
func frame(dst, src []byte, size int, tag byte) []byte {
	f := make([]byte, max(size, 15))
	copy(f, dst)
	copy(f[6:], src)
	f[12], f[13] = 0x88, 0xb5 // local experimental ethertype
	f[14] = tag
	return f[:max(size, 14)]
}

// recorder is a FrameWriter that keeps copies of what it is sent.
type recorder struct {
	mu     sync.Mutex
	frames [][]byte
	signal chan struct{}
}

func newRecorder() *recorder { return &recorder{signal: make(chan struct{}, 1)} }

func (r *recorder) WriteFrames(frames [][]byte) error {
	r.mu.Lock()
	for _, f := range frames {
		r.frames = append(r.frames, append([]byte(nil), f...))
	}
	r.mu.Unlock()
	select {
	case r.signal <- struct{}{}:
	default:
	}
	return nil
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.frames)
}

func (r *recorder) get() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.frames...)
}

// waitCount waits until r has n frames, failing the test after a few seconds.
func (r *recorder) waitCount(t testing.TB, n int) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for r.count() < n {
		select {
		case <-r.signal:
		case <-deadline:
			t.Fatalf("recorder has %d frames, want %d", r.count(), n)
		}
	}
}

// settle gives writer goroutines time to deliver frames that should not arrive.
func settle() { time.Sleep(30 * time.Millisecond) }

// fakeClock is an injectable clock for aging tests.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// waitFor polls cond until it holds, failing the test after a few seconds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var errTest = errorString("test error")

type errorString string

func (e errorString) Error() string { return string(e) }
