package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cloonix-go/cloonix/labpath"
	"github.com/cloonix-go/cloonix/termsafe"
)

// fail reports err on stderr as "cloonix-proxy: <reason>" and appends it to
// proxy.log, because libssh (Ansible) discards a ProxyCommand's stderr:
// the lab's, or the state root's for a name that is no lab (labpath.ProxyLog).
func fail(server string, args []string, err error) {
	msg := termsafe.Line(strings.ReplaceAll(err.Error(), "\n", "; "), 1000) // no terminal escapes from the daemon or a guest
	os.Stderr.WriteString("cloonix-proxy: " + msg + "\n")
	path, err := labpath.ProxyLog(server)
	if err != nil {
		return // no HOME and no XDG_STATE_HOME: stderr is all there is
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	line := time.Now().Format(time.RFC3339) + " pid=" + strconv.Itoa(os.Getpid()) + " args=" + strings.Join(args, " ") + ": " + msg + "\n"
	f.WriteString(line)
}
