package impair

import (
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseChangesOnlyWhatItNames(t *testing.T) {
	s, err := Parse(Spec{}, strings.Fields("delay=50ms jitter=5ms loss=1%"))
	if err != nil {
		t.Fatal(err)
	}
	s, err = Parse(s, []string{"loss=2%", "rate=10mbit"})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.String(); got != "delay=50ms jitter=5ms loss=2% rate=10mbit" {
		t.Errorf("got %q", got)
	}
	s, _ = Parse(s, []string{"jitter=0", "loss=off"})
	if got := s.String(); got != "delay=50ms rate=10mbit" {
		t.Errorf("after clearing: %q", got)
	}
	g, err := Parse(Spec{}, []string{"loss=ge:1%,30%"})
	if err != nil || g.Burst == nil || g.Burst.P != 0.01 || g.Burst.R != 0.3 || g.Burst.LossBad != 1 {
		t.Errorf("ge: %+v %v", g.Burst, err)
	}
	if back, err := Parse(Spec{}, strings.Fields(g.String())); err != nil || back.String() != g.String() {
		t.Errorf("String does not parse back: %q -> %q %v", g.String(), back.String(), err)
	}
	for _, name := range PresetNames() {
		if _, err := Parse(Spec{}, []string{name}); err != nil {
			t.Errorf("preset %s: %v", name, err)
		}
	}
	for _, bad := range []string{"delay=fast", "loss=5", "loss=120%", "rate=1kbit", "jitter=5ms", "reorder=10%", "bogus=1", "wan2", "mtu=20"} {
		if _, err := Parse(Spec{}, []string{bad}); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// collect runs n frames through a stage and returns the tags (byte 14..15) of those that came out.
func collect(t *testing.T, spec Spec, seed uint64, n int, wait time.Duration) []int {
	t.Helper()
	var mu sync.Mutex
	var got []int
	s := New(spec, seed, func(f []byte) {
		mu.Lock()
		got = append(got, int(f[14])<<8|int(f[15]))
		mu.Unlock()
	})
	defer s.Close()
	for i := 0; i < n; i++ {
		f := make([]byte, 60)
		f[14], f[15] = byte(i>>8), byte(i)
		s.Push(f)
	}
	time.Sleep(wait)
	mu.Lock()
	defer mu.Unlock()
	return append([]int(nil), got...)
}

func TestLossIsBinomialAndReplays(t *testing.T) {
	spec, _ := Parse(Spec{}, []string{"loss=20%"})
	a := collect(t, spec, 42, 5000, 0)
	lost := 5000 - len(a)
	if lost < 850 || lost > 1150 { // mean 1000, sd 28
		t.Errorf("lost %d of 5000 at 20%%", lost)
	}
	b := collect(t, spec, 42, 5000, 0)
	if len(a) != len(b) {
		t.Fatalf("same seed: %d then %d frames", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed, different pattern at %d", i)
		}
	}
	if c := collect(t, spec, 43, 5000, 0); len(c) == len(a) && c[0] == a[0] && c[len(c)-1] == a[len(a)-1] {
		t.Error("another seed gave the same pattern")
	}
}

func TestBurstLossComesInRuns(t *testing.T) {
	spec, _ := Parse(Spec{}, []string{"loss=ge:2%,25%"})
	got := collect(t, spec, 7, 20000, 0)
	seen := map[int]bool{}
	for _, x := range got {
		seen[x] = true
	}
	runs, lost := 0, 0
	for i := 0; i < 20000; i++ {
		if !seen[i] {
			lost++
			if i == 0 || seen[i-1] {
				runs++
			}
		}
	}
	// Stationary bad share 2/(2+25) = 7.4%; runs of 4 on average.
	if lost < 1000 || lost > 2000 || float64(lost)/float64(runs) < 2.5 {
		t.Errorf("lost %d in %d runs; want about 1480 in runs of about 4", lost, runs)
	}
}

func TestDelayJitterAndOrder(t *testing.T) {
	spec, _ := Parse(Spec{}, []string{"delay=30ms"})
	var mu sync.Mutex
	var lat []time.Duration
	sent := map[int]time.Time{}
	s := New(spec, 1, func(f []byte) {
		mu.Lock()
		lat = append(lat, time.Since(sent[int(f[14])]))
		mu.Unlock()
	})
	defer s.Close()
	for i := 0; i < 20; i++ {
		mu.Lock()
		sent[i] = time.Now()
		mu.Unlock()
		s.Push(append(make([]byte, 14), byte(i), 0))
		time.Sleep(2 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(lat) != 20 {
		t.Fatalf("%d of 20 frames came out", len(lat))
	}
	for _, l := range lat {
		if l < 30*time.Millisecond || l > 45*time.Millisecond {
			t.Errorf("latency %v with delay=30ms", l)
		}
	}
}

func TestReorderSendsSomeAhead(t *testing.T) {
	spec, _ := Parse(Spec{}, []string{"delay=20ms", "reorder=25%"})
	got := collect(t, spec, 3, 400, 100*time.Millisecond)
	if len(got) != 400 {
		t.Fatalf("%d of 400 came out", len(got))
	}
	late, top := 0, -1 // frames that came after a later-sent one
	for _, x := range got {
		if x < top {
			late++
		}
		top = max(top, x)
	}
	if late < 200 {
		t.Errorf("only %d of 400 frames overtaken with reorder=25%%", late)
	}
}

func TestRateBoundsThroughputAndLimitDrops(t *testing.T) {
	spec, _ := Parse(Spec{}, []string{"rate=1mbit", "limit=100"})
	var mu sync.Mutex
	var first, last time.Time
	n := 0
	s := New(spec, 1, func(f []byte) {
		mu.Lock()
		if n == 0 {
			first = time.Now()
		}
		last = time.Now()
		n++
		mu.Unlock()
	})
	defer s.Close()
	for i := 0; i < 150; i++ {
		s.Push(make([]byte, 1226)) // 1250 bytes on the wire: 10 ms each at 1 Mbit/s
	}
	time.Sleep(1100 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if n != 100 || s.Stats().OverLimit != 50 {
		t.Fatalf("%d frames out, %d over the limit; want 100 and 50", n, s.Stats().OverLimit)
	}
	if el := last.Sub(first); el < 950*time.Millisecond || el > 1050*time.Millisecond {
		t.Errorf("99 frames took %v after the first at 1 Mbit/s; want 990 ms within 5%%", el)
	}
}

func TestMTUDuplicateCorrupt(t *testing.T) {
	spec, _ := Parse(Spec{}, []string{"mtu=100"})
	s := New(spec, 1, func([]byte) {})
	s.Push(make([]byte, 114))
	s.Push(make([]byte, 115))
	if st := s.Stats(); st.Passed != 1 || st.TooBig != 1 {
		t.Errorf("mtu: %+v", st)
	}
	s.Close()
	spec, _ = Parse(Spec{}, []string{"duplicate=100%", "corrupt=100%"})
	var outs [][]byte
	s = New(spec, 1, func(f []byte) { outs = append(outs, append([]byte(nil), f...)) })
	f := make([]byte, 60)
	s.Push(f)
	s.Close()
	if len(outs) != 2 {
		t.Fatalf("duplicate=100%%: %d copies", len(outs))
	}
	for _, o := range outs {
		diff := 0
		for i := range o {
			if o[i] != f[i] {
				diff++
				if i < 14 {
					t.Error("corrupt touched the Ethernet header")
				}
			}
		}
		if diff != 1 {
			t.Errorf("corrupt changed %d bytes, want one bit", diff)
		}
	}
}

func TestRateAndReorderTogether(t *testing.T) {
	spec, _ := Parse(Spec{}, []string{"delay=5ms", "rate=1mbit", "reorder=25%"})
	got := collect(t, spec, 9, 100, 1500*time.Millisecond)
	late, top := 0, -1
	for _, x := range got {
		if x < top {
			late++
		}
		top = max(top, x)
	}
	if len(got) != 100 || late < 20 {
		t.Errorf("%d frames out, %d overtaken; with reorder=25%% some must pass the rate limiter's queue", len(got), late)
	}
	for _, bad := range []string{"rate=nanmbit", "rate=inf", "rate=1e30bit", "loss=nan%"} {
		if _, err := Parse(Spec{}, []string{bad}); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
	if s, _ := Parse(Spec{}, []string{"loss=0.12345%"}); s.String() != "loss=0.12345%" {
		t.Errorf("precision lost: %q", s.String())
	}
}
