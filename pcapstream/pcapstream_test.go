package pcapstream

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"
)

// block makes a pcapng block of type typ with body bytes, in order.
func block(order binary.ByteOrder, typ uint32, body []byte) []byte {
	n := 12 + len(body)
	b := make([]byte, n)
	order.PutUint32(b, typ)
	order.PutUint32(b[4:], uint32(n))
	copy(b[8:], body)
	order.PutUint32(b[n-4:], uint32(n))
	return b
}

func shb(order binary.ByteOrder) []byte {
	body := make([]byte, 16)
	order.PutUint32(body, 0x1A2B3C4D)
	return block(order, 0x0A0D0D0A, body)
}

// TestWholeBlocksOnly: a stream cut in the middle of a block gives every whole block before it and nothing
// of the cut one, in either byte order.
func TestWholeBlocksOnly(t *testing.T) {
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		var whole []byte
		whole = append(whole, shb(order)...)
		whole = append(whole, block(order, 1, make([]byte, 8))...)
		whole = append(whole, block(order, 6, make([]byte, 100))...)
		cut := append(append([]byte(nil), whole...), block(order, 6, make([]byte, 100))[:50]...)
		var out bytes.Buffer
		if err := Copy(&out, bytes.NewReader(cut)); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), whole) {
			t.Errorf("%v: copied %d bytes, want the %d of the whole blocks", order, out.Len(), len(whole))
		}
	}
}

func TestDamagedBlock(t *testing.T) {
	bad := append(shb(binary.LittleEndian), 6, 0, 0, 0, 7, 0, 0, 0) // length 7: not a multiple of 4
	if err := Copy(io.Discard, bytes.NewReader(bad)); err == nil {
		t.Error("a damaged block was copied")
	}
}
