package termsafe

import "testing"

func TestLine(t *testing.T) {
	for in, want := range map[string]string{
		"a\x1b[31mb\tc\u0085d": "a?[31mb?c?d",
		"\x1b]0;pwned\x07ok":   "?]0;pwned?ok",
		"plain":                "plain",
	} {
		if got := Line(in, 100); got != want {
			t.Errorf("Line(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Line("héllo world", 5); got != "héllo…" {
		t.Errorf("cut = %q", got)
	}
}
