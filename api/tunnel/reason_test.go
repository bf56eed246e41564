package tunnel

import (
	"bufio"
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRefusalIsTerminalSafe: a refusal whose text carries terminal escapes (a daemon quoting a guest's bytes)
// reaches the user with the control characters replaced.
func TestRefusalIsTerminalSafe(t *testing.T) {
	dir, err := os.MkdirTemp("", "tunnel-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "ctl.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil || line == "\r\n" {
				break
			}
		}
		body := "vm \x1b]0;owned\x07r1\x1b[2J refused\n"
		_, _ = c.Write([]byte("HTTP/1.1 502 Bad Gateway\r\nContent-Length: " + itoa(len(body)) + "\r\n\r\n" + body))
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err = Connect(ctx, path, "nat", "r1", 22)
	if err == nil {
		t.Fatal("Connect succeeded against a refusal")
	}
	if strings.ContainsAny(err.Error(), "\x1b\x07") || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("refusal text %q", err.Error())
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
