package lan

import (
	"sync"
	"sync/atomic"
)

// smallBufSize covers every frame of a 1500-byte MTU LAN, with VLAN tags.
const smallBufSize = 2048

// frameBuf is a pooled copy of one frame, shared by every port queue it was sent to.
type frameBuf struct {
	data []byte       // len is the frame length, cap the buffer class
	refs atomic.Int32 // queues still holding the buffer
}

var (
	smallPool = sync.Pool{New: func() any { return &frameBuf{data: make([]byte, 0, smallBufSize)} }}
	largePool = sync.Pool{New: func() any { return &frameBuf{data: make([]byte, 0, MaxFrameSize)} }}
)

// getBuf returns a buffer holding a copy of frame with refs references.
func getBuf(frame []byte, refs int32) *frameBuf {
	var b *frameBuf
	if len(frame) <= smallBufSize {
		b = smallPool.Get().(*frameBuf)
	} else {
		b = largePool.Get().(*frameBuf)
	}
	b.data = append(b.data[:0], frame...)
	b.refs.Store(refs)
	return b
}

// release drops one reference and returns the buffer to its pool after the last one.
func (b *frameBuf) release() {
	if b.refs.Add(-1) != 0 {
		return
	}
	if cap(b.data) == smallBufSize {
		smallPool.Put(b)
	} else {
		largePool.Put(b)
	}
}
