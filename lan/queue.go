package lan

import "sync"

// frameQueue is a port's bounded queue: many producers (the other ports' input goroutines) push
// single frames, and the port's writer takes everything queued in one swap. The lock is per port
// and held only for an append or a swap.
type frameQueue struct {
	mu       sync.Mutex
	items    []*frameBuf
	bytes    int64
	maxLen   int
	maxBytes int64
	notify   chan struct{} // holds a token whenever items may be non-empty
}

func newFrameQueue(maxLen int, maxBytes int64) *frameQueue {
	return &frameQueue{
		items:    make([]*frameBuf, 0, maxLen),
		maxLen:   maxLen,
		maxBytes: maxBytes,
		notify:   make(chan struct{}, 1),
	}
}

// push queues b and reports true, or reports false if the queue is full.
func (q *frameQueue) push(b *frameBuf) bool {
	n := int64(len(b.data))
	q.mu.Lock()
	if len(q.items) >= q.maxLen || q.bytes+n > q.maxBytes {
		q.mu.Unlock()
		return false
	}
	q.items = append(q.items, b)
	q.bytes += n
	wake := len(q.items) == 1
	q.mu.Unlock()
	if wake {
		select {
		case q.notify <- struct{}{}:
		default:
		}
	}
	return true
}

// takeAll returns everything queued and leaves spare (emptied) as the new queue storage.
func (q *frameQueue) takeAll(spare []*frameBuf) []*frameBuf {
	q.mu.Lock()
	out := q.items
	q.items = spare[:0]
	q.bytes = 0
	q.mu.Unlock()
	return out
}
