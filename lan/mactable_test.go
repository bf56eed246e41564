package lan

import (
	"sync"
	"testing"
)

func TestMACTableLearnLookupExpire(t *testing.T) {
	var tb macTable
	const age, refresh = 100, 10
	a := macKey(macA)
	if id := tb.lookup(a, 1, age); id != 0 {
		t.Fatalf("empty table found port %d", id)
	}
	tb.learn(a, 3, 5, age, refresh)
	if id := tb.lookup(a, 50, age); id != 3 {
		t.Fatalf("lookup = %d, want 3", id)
	}
	if id := tb.lookup(a, 106, age); id != 0 {
		t.Fatalf("lookup after aging = %d, want 0", id)
	}
	tb.learn(a, 4, 106, age, refresh) // move and refresh
	if id := tb.lookup(a, 150, age); id != 4 {
		t.Fatalf("lookup after move = %d, want 4", id)
	}
	tb.flush(4)
	if id := tb.lookup(a, 150, age); id != 0 {
		t.Fatalf("lookup after flush = %d, want 0", id)
	}
}

// TestMACTableReusesExpiredSlots fills the table, ages everything out, and learns a new set.
func TestMACTableReusesExpiredSlots(t *testing.T) {
	var tb macTable
	const age = 100
	mac := func(i int) uint64 { return 0x020000000000 | uint64(i) }
	learned := 0
	for i := range macTableSize {
		if tb.learn(mac(i), 1, 10, age, 1) {
			learned++
		}
	}
	if learned < macTableSize*9/10 {
		t.Fatalf("learned only %d of %d MACs into an empty table", learned, macTableSize)
	}
	if tb.learn(mac(1<<20), 1, 20, age, 1) && learned == macTableSize {
		// a full table may still find room only by reusing; that needs expired entries
		t.Fatalf("learned into a full table with nothing expired")
	}
	const fresh = macTableSize * 3 / 4 // linear probing needs some slack
	for i := range fresh {
		if !tb.learn(mac(i+macTableSize), 2, 1000, age, 1) {
			t.Fatalf("could not learn MAC %d after all entries expired", i)
		}
	}
	for i := range fresh {
		if id := tb.lookup(mac(i+macTableSize), 1001, age); id != 2 {
			t.Fatalf("lookup of new MAC %d = %d, want 2", i, id)
		}
		if id := tb.lookup(mac(i), 1001, age); id != 0 {
			t.Fatalf("lookup of expired MAC %d = %d, want 0", i, id)
		}
	}
}

// TestMACTableConcurrent learns and looks up from several goroutines (run with -race).
func TestMACTableConcurrent(t *testing.T) {
	var tb macTable
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20000 {
				m := 0x020000000000 | uint64(i%500)
				tb.learn(m, uint16(g+1), int64(i), 1e9, 1)
				if id := tb.lookup(m, int64(i), 1e9); id == 0 || id > 4 {
					t.Errorf("lookup right after learn = %d", id)
					return
				}
			}
		}()
	}
	wg.Wait()
}
