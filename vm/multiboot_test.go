package vm

import "encoding/binary"

// A tiny multiboot (v1) kernel that qemu's -kernel loads at 1 MiB and enters in 32-bit protected
// mode. Tests use it to run real guest code (console echo, exit through isa-debug-exit) in a fraction
// of a second without any image. It proves nothing about KVM: the accelerator probe boots the real
// guest kernel instead (see accel.go).

const (
	multibootMagic   = 0x1BADB002
	multibootAOUT    = 1 << 16 // the header carries load addresses (no ELF needed)
	multibootLoad    = 0x100000
	multibootHdrSize = 32
	// debugExitPort is the isa-debug-exit port the probe configures; qemu exits with
	// status (value<<1)|1 when the guest writes value there.
	debugExitPort = 0xf4
)

// multibootImage wraps 32-bit code into a flat multiboot image entered at its first byte.
func multibootImage(code []byte) []byte {
	b := make([]byte, multibootHdrSize, multibootHdrSize+len(code))
	le := binary.LittleEndian
	le.PutUint32(b[0:], multibootMagic)
	le.PutUint32(b[4:], multibootAOUT)
	sum := uint32(multibootMagic + multibootAOUT)
	le.PutUint32(b[8:], -sum)                            // checksum: magic+flags+checksum == 0
	le.PutUint32(b[12:], multibootLoad)                  // header_addr
	le.PutUint32(b[16:], multibootLoad)                  // load_addr
	le.PutUint32(b[20:], 0)                              // load_end_addr: whole file
	le.PutUint32(b[24:], 0)                              // bss_end_addr: none
	le.PutUint32(b[28:], multibootLoad+multibootHdrSize) // entry_addr
	return append(b, code...)
}

// x86 (32-bit) instruction helpers for the payloads.
func movDX(port uint16) []byte { return []byte{0x66, 0xBA, byte(port), byte(port >> 8)} }

// serialPrint emits code writing s to COM1 (0x3f8) byte by byte.
func serialPrint(s string) []byte {
	code := movDX(0x3f8)
	for i := 0; i < len(s); i++ {
		code = append(code, 0xB0, s[i], 0xEE) // mov al, c; out dx, al
	}
	return code
}

// debugExit emits code that makes qemu exit with status (v<<1)|1, then halts forever.
func debugExit(v byte) []byte {
	code := movDX(debugExitPort)
	code = append(code, 0xB0, v, 0xEE)    // mov al, v; out dx, al
	return append(code, 0xF4, 0xEB, 0xFD) // hlt; jmp hlt
}
