package lan

import (
	"bytes"
	"net"
	"path/filepath"
	"testing"
)

// TestStreamWriterMixesSizes writes small and large frames, more than one scratch buffer's worth,
// and checks the byte stream decodes to the same frames in order.
func TestStreamWriterMixesSizes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.sock")
	q := newFakeQemu(t, path)
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	peer := q.accept(t)
	w := newStreamWriter()
	if err := w.WriteFrames([][]byte{frame(macB, macA, 60, 0)}); err != ErrNotConnected {
		t.Fatalf("WriteFrames before connect = %v, want ErrNotConnected", err)
	}
	w.conn.Store(c)
	var in [][]byte
	for i := range 700 {
		size := []int{14, 60, copyFrameLimit, copyFrameLimit + 1, 1500, 9000}[i%6]
		in = append(in, frame(macB, macA, size, byte(i)))
	}
	errc := make(chan error, 1)
	go func() { errc <- w.WriteFrames(in) }()
	d := NewDecoder(peer, 0)
	for i, want := range in {
		got, err := d.Next()
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("frame %d: got %d bytes (%v), want %d bytes", i, len(got), err, len(want))
		}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}
