package events

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/cloonix-go/cloonix/api"
)

func TestSubscribeReplaysAndFollows(t *testing.T) {
	h := New()
	h.Publish(api.Event{Kind: "vm", VM: "r1", What: "booting"})
	h.Publish(api.Event{Kind: "vm", VM: "r1", What: "running"})
	past, live, _, cancel := h.Subscribe(1)
	defer cancel()
	if len(past) != 1 || past[0].What != "running" || past[0].Seq != 2 {
		t.Fatalf("past = %+v, want the one event after seq 1", past)
	}
	h.Publish(api.Event{Kind: "link", VM: "r1", NIC: "eth1", What: "down"})
	select {
	case e := <-live:
		if e.Seq != 3 || e.Subject() != "r1:eth1" || !strings.HasSuffix(e.String(), "link r1:eth1 down") {
			t.Errorf("live event %+v (%s)", e, e)
		}
	case <-time.After(time.Second):
		t.Fatal("no live event")
	}
	if past, _, _, c := h.Subscribe(h.Seq()); len(past) != 0 {
		t.Errorf("since the current number: %d past events", len(past))
	} else {
		c()
	}
}

func TestHistoryIsBounded(t *testing.T) {
	h := New()
	for i := 0; i < keep+10; i++ {
		h.Publish(api.Event{Kind: "vm", What: "x"})
	}
	past, _, _, cancel := h.Subscribe(0)
	cancel()
	if len(past) != keep || past[0].Seq != 11 {
		t.Errorf("kept %d events from seq %d, want %d from 11", len(past), past[0].Seq, keep)
	}
}

// TestSlowReaderIsToldWhatItLost: a reader that does not read loses events, never blocks Publish, and is
// told how many it lost.
func TestSlowReaderIsToldWhatItLost(t *testing.T) {
	h := New()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.Stream(ctx, h.Seq(), pw)
	time.Sleep(20 * time.Millisecond)
	done := make(chan struct{})
	go func() {
		for i := 0; i < queueLen+100; i++ { // the stream blocks on its first write: nobody reads yet
			h.Publish(api.Event{Kind: "vm", What: "x"})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Publish blocked on a slow reader")
	}
	lines := make(chan api.Event, 2*queueLen)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			var e api.Event
			if json.Unmarshal(sc.Bytes(), &e) == nil {
				lines <- e
			}
		}
	}()
	sawLost := false
	published := false
	for got := 0; ; got++ {
		var e api.Event
		select {
		case e = <-lines:
		case <-time.After(5 * time.Second):
			t.Fatalf("stream stalled after %d events", got)
		}
		if e.Kind == "events" && e.What == "lost" {
			sawLost = true
		}
		if e.What == "last" {
			break
		}
		if got == queueLen-1 && !published { // the queue drained: the next one gets through
			published = true
			h.Publish(api.Event{Kind: "vm", What: "last"})
		}
	}
	if !sawLost {
		t.Error("the slow reader was not told it lost events")
	}
}
