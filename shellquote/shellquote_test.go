package shellquote

import (
	"os/exec"
	"testing"
)

// TestQuoteRoundTrips: what sh reads back from a quoted word is the word.
func TestQuoteRoundTrips(t *testing.T) {
	for _, s := range []string{"", "plain", "/etc/x.conf", "a b", "it's", `$HOME`, "`id`", "a\nb", `\`, "*", "--x=1"} {
		out, err := exec.Command("sh", "-c", "printf %s "+Quote(s)).Output()
		if err != nil || string(out) != s {
			t.Errorf("Quote(%q) = %s: sh gives %q, %v", s, Quote(s), out, err)
		}
	}
	for in, want := range map[string]string{
		"nemo": "nemo", "/a/b.sock": "/a/b.sock", "": "''", "a b": "'a b'", "it's": `'it'\''s'`, "$(x)": "'$(x)'", "a;b": "'a;b'",
	} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
}
