package e2e

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestConsole types a command on a VM's serial console through `cloonix-labd console`, reads its answer,
// and leaves with Ctrl-].
func TestConsole(t *testing.T) {
	name := sharedNATLab(t)
	cmd := exec.Command(filepath.Join(env.bin, "cloonix-labd"), "--lab", name, "console", "vm2")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out syncBuffer // written by exec's copier, read here while the command runs
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	time.Sleep(500 * time.Millisecond)
	stdin.Write([]byte("\necho console-$((6*7))-$(hostname)\n"))
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), "console-42-vm2") && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	stdin.Write([]byte{0x1d}) // Ctrl-]
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("console exited with %v", err)
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("Ctrl-] did not end the console session")
	}
	if !strings.Contains(out.String(), "console-42-vm2") {
		t.Fatalf("the console did not run the command; output:\n%s", out.String())
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
