// Package termsafe makes text that others control (a guest's console output, a daemon's refusal, qemu's
// messages) safe to print on the user's terminal: control characters, which could move the cursor, retitle
// the window or hide what came before, become '?', and a line is cut to a length. Standard library only, so
// cloonix-proxy can use it.
package termsafe

import "strings"

// Line returns s with every control character (C0, DEL, C1; newlines and tabs too) replaced by '?' and cut
// to at most n runes, ending in "…" when cut.
func Line(s string, n int) string {
	var b strings.Builder
	count := 0
	for _, r := range s {
		if count == n {
			b.WriteString("…")
			break
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			r = '?'
		}
		b.WriteRune(r)
		count++
	}
	return b.String()
}
