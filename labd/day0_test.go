package labd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConsolePassword(t *testing.T) {
	path := filepath.Join(t.TempDir(), "console_password")
	pw, err := consolePassword(path)
	if err != nil || len(pw) != 16 {
		t.Fatalf("new password %q, %v", pw, err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("password file mode %v", st.Mode())
	}
	if again, err := consolePassword(path); err != nil || again != pw {
		t.Fatalf("second call gave %q, %v; want the same %q", again, err, pw)
	}
	if err := os.WriteFile(path, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := consolePassword(path); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "down --purge") {
		t.Fatalf("a short password was accepted or silently replaced: %q, %v", got, err)
	}
	if b, _ := os.ReadFile(path); string(b) != "short\n" {
		t.Errorf("the short password file was overwritten: %q", b)
	}
}
