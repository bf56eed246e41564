package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cloonix-go/cloonix/api/tunnel"
)

// fail reports err on stderr as "cloonix-proxy: <reason>" and appends it to
// proxy.log, because libssh (Ansible) discards a ProxyCommand's stderr. The
// log is the lab's state directory if it exists, else the state root
// ($XDG_STATE_HOME/cloonix/proxy.log), so that a mistyped name does not
// create a lab directory.
func fail(server string, args []string, err error) {
	msg := strings.ReplaceAll(err.Error(), "\n", "; ")
	os.Stderr.WriteString("cloonix-proxy: " + msg + "\n")
	dir := tunnel.StateRoot()
	if server != "" && tunnel.CheckName(server) == nil {
		if fi, err := os.Stat(tunnel.StateDir(server)); err == nil && fi.IsDir() {
			dir = tunnel.StateDir(server)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return
	}
	f, err := os.OpenFile(filepath.Join(dir, "proxy.log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	line := time.Now().Format(time.RFC3339) + " pid=" + strconv.Itoa(os.Getpid()) + " args=" + strings.Join(args, " ") + ": " + msg + "\n"
	f.WriteString(line)
}
