package lan

import "sync/atomic"

const (
	macTableBits  = 12 // 4096 entries per LAN
	macTableSize  = 1 << macTableBits
	macProbeLimit = 32
	portIDMask    = 0xffff
)

// macSlot is one MAC table entry. word packs the MAC (high 48 bits) and the port id (low 16 bits) so
// that both change in one atomic store; 0 means the slot was never used. seen is the clock in
// nanoseconds when the MAC was last heard, or 0 when the entry was flushed.
type macSlot struct {
	word atomic.Uint64
	seen atomic.Int64
}

// macTable is a fixed open-addressed hash table that readers and learners use concurrently without
// locks. Slots are never emptied: entries expire by age and expired slots are reused by new MACs.
type macTable struct {
	slots [macTableSize]macSlot
}

// macKey packs a 6-byte MAC into the low 48 bits of a uint64.
func macKey(b []byte) uint64 {
	_ = b[5]
	return uint64(b[0])<<40 | uint64(b[1])<<32 | uint64(b[2])<<24 | uint64(b[3])<<16 | uint64(b[4])<<8 | uint64(b[5])
}

func macHash(mac uint64) uint64 {
	return (mac * 0x9E3779B97F4A7C15) >> (64 - macTableBits)
}

func expired(seen, now, age int64) bool {
	return seen == 0 || now-seen > age
}

// lookup returns the port id that mac was last heard on, or 0 if it is unknown or aged out.
func (t *macTable) lookup(mac uint64, now, age int64) uint16 {
	h := macHash(mac)
	for i := uint64(0); i < macProbeLimit; i++ {
		s := &t.slots[(h+i)&(macTableSize-1)]
		w := s.word.Load()
		if w == 0 {
			return 0
		}
		if w>>16 == mac {
			if expired(s.seen.Load(), now, age) {
				return 0
			}
			return uint16(w & portIDMask)
		}
	}
	return 0
}

// learn records that mac was heard on port at time now. refresh is how stale seen may get before it
// is rewritten (fewer stores to shared cache lines). It reports false when the table has no room
// near mac's hash; the MAC is then flooded to until room appears.
func (t *macTable) learn(mac uint64, port uint16, now, age, refresh int64) bool {
	if now == 0 {
		now = 1
	}
	want := mac<<16 | uint64(port)
	for attempt := 0; attempt < 4; attempt++ {
		h := macHash(mac)
		var reuse *macSlot
		var reuseWord uint64
		var empty *macSlot
		for i := uint64(0); i < macProbeLimit; i++ {
			s := &t.slots[(h+i)&(macTableSize-1)]
			w := s.word.Load()
			if w == 0 {
				empty = s
				break
			}
			if w>>16 == mac {
				if w != want && !s.word.CompareAndSwap(w, want) {
					break // the slot changed under us: try again
				}
				if seen := s.seen.Load(); w != want || seen == 0 || now-seen >= refresh {
					s.seen.Store(now)
				}
				return true
			}
			if reuse == nil && expired(s.seen.Load(), now, age) {
				reuse, reuseWord = s, w
			}
		}
		switch {
		case reuse != nil:
			// Reusing the first expired slot keeps chains short. Until seen is stored, readers
			// see an expired entry and flood, which is safe.
			if reuse.word.CompareAndSwap(reuseWord, want) {
				reuse.seen.Store(now)
				return true
			}
		case empty != nil:
			if empty.word.CompareAndSwap(0, want) {
				empty.seen.Store(now)
				return true
			}
		default:
			return false
		}
	}
	return false
}

// flush ages out every entry that points at port.
func (t *macTable) flush(port uint16) {
	for i := range t.slots {
		s := &t.slots[i]
		if w := s.word.Load(); w != 0 && uint16(w&portIDMask) == port {
			s.seen.Store(0)
		}
	}
}
