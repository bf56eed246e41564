package lograte

import (
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	l := Limiter{Every: 10 * time.Second}
	now := time.Unix(1000, 0)
	if ok, _ := l.Allow(now); !ok {
		t.Fatal("first message held back")
	}
	for i := 0; i < 5; i++ {
		if ok, _ := l.Allow(now.Add(time.Second)); ok {
			t.Fatal("message within Every let through")
		}
	}
	if ok, held := l.Allow(now.Add(10 * time.Second)); !ok || held != 5 {
		t.Fatalf("after Every: %v, held %d, want true, 5", ok, held)
	}
}
