package main

const shortUsage = "usage: cloonix-proxy [--fdpass] SERVER ENTITY HOST[:PORT]   (cloonix-proxy -h for help)\n" +
	"       cloonix-proxy SERVER capture TARGET... [--last 60s] | wireshark -k -i -\n"

const usage = `cloonix-proxy: reach a VM of a Cloonix lab as an OpenSSH ProxyCommand.

Usage:
  cloonix-proxy [--fdpass] SERVER ENTITY HOST[:PORT]
  cloonix-proxy SERVER capture TARGET... [--last DURATION]
  cloonix-proxy -h | --help
  cloonix-proxy --version

  SERVER  a server name from $XDG_CONFIG_HOME/cloonix/config.toml ([server.NAME]
          socket = "..."); with no entry, the local lab of that name, whose
          socket is $XDG_RUNTIME_DIR/cloonix/SERVER/ctl.sock
          (else $TMPDIR/cloonix-$UID/SERVER/ctl.sock, TMPDIR being /tmp
          when unset: the daemon's own rule).
  ENTITY  the lab entity that dials the VM: the NAT's name, e.g. nat.
  HOST    the VM name; PORT defaults to 22.

  --fdpass  hand the connected socket to ssh and exit at once
            (needs "ProxyUseFdpass yes"; OpenSSH only, not paramiko/libssh).

  capture   instead of a VM, stream a live pcapng capture of each TARGET, a
            LAN (lan12) or a NIC (r1:eth1), to stdout: a remote lab is
            captured from here, | wireshark -k -i -. --last 60s starts a
            minute in the past, from the LANs' flight recorders.

It asks the lab daemon to connect to HOST:PORT, then copies stdin to the VM
and the VM to stdout until both directions end. Errors are printed as
"cloonix-proxy: <reason>" with exit status 1 (2 for a bad command line), and
appended to $XDG_STATE_HOME/cloonix/SERVER/proxy.log (default
~/.local/state/cloonix/SERVER/proxy.log), because libssh hides a proxy's stderr.

ssh_config (each lab has a complete one; its path: cloonix-labd ssh-config):
  Host r1 r2
      User root
      ProxyCommand cloonix-proxy nemo nat %n
  # or, OpenSSH only, with no copy process left running:
  Host r1 r2
      ProxyCommand cloonix-proxy --fdpass nemo nat %n
      ProxyUseFdpass yes

Command line:
  ssh -o ProxyCommand='cloonix-proxy nemo nat %n' root@r1
  scp -o ProxyCommand='cloonix-proxy nemo nat %n' file root@r1:/tmp/

Ansible, Linux hosts (ansible.builtin.ssh), in the inventory:
  ansible_ssh_common_args: '-o ProxyCommand="cloonix-proxy nemo nat %h"'
Ansible, network_cli (paramiko/libssh; only %h %p %r are substituted):
  ansible_paramiko_proxy_command: 'cloonix-proxy nemo nat %h'   # ansible-core >= 2.15
  ansible_ssh_common_args: '-o ProxyCommand="cloonix-proxy nemo nat %h"'  # 2.14
  or: export ANSIBLE_PARAMIKO_PROXY_COMMAND='cloonix-proxy nemo nat %h'
`
