package kind

import "time"

// linuxReady is the console line the project's Linux images print once sshd listens.
const linuxReady = "cloonix: sshd ready"

// linuxConfig pushes a shell script: it is kept as /etc/cloonix/config.sh and run with sh, so `config save`
// gives back the last configuration pushed. A script is imperative, so --replace runs it the same way.
var linuxConfig = ConfigOps{
	User:        "root",
	PushPath:    "/tmp/cloonix-push.sh",
	LoadCommand: "mkdir -p /etc/cloonix && cp /tmp/cloonix-push.sh /etc/cloonix/config.sh && sh /etc/cloonix/config.sh",
	SaveCommand: "if [ -f /etc/cloonix/config.sh ]; then cat /etc/cloonix/config.sh; else echo '# no configuration pushed yet'; fi",
}

// frrConfig pushes an integrated frr.conf. cloonix-frr-reload (in the frr image) installs it as
// /etc/frr/frr.conf and applies it with vtysh, so the running configuration equals the file: merge and
// replace are the same.
var frrConfig = ConfigOps{
	User:        "root",
	PushPath:    "/tmp/cloonix-push.conf",
	LoadCommand: "/usr/sbin/cloonix-frr-reload /tmp/cloonix-push.conf",
	SaveCommand: "vtysh -c 'show running-config'",
}

// iosxeConfig: a merge copies the file to bootflash: and then runs `copy bootflash:FILE running-config`
// over ssh, NAPALM's way, because scp straight to running-config prints nothing when a line is refused,
// while copy's answer carries the parser's errors (day-0 sets `file prompt quiet`, so copy asks nothing).
// Replace goes through nvram:replace-config and `configure replace … force` (netlab's recipe). IOS-XE
// exits 0 whatever happens, so refusals are found in the answer: the markers are ours plus NAPALM's IOS
// driver's (napalm/ios/ios.py commit_config), and a replace must end in one of Cisco's success lines.
var iosxeConfig = ConfigOps{
	PushPath:       "bootflash:cloonix-push.cfg",
	LoadCommand:    "copy bootflash:cloonix-push.cfg running-config",
	ReplacePath:    "nvram:replace-config",
	ReplaceCommand: "configure replace nvram:replace-config force",
	SaveCommand:    "show running-config",
	SaveSkipUntil:  "!",
	ErrorMarkers: []string{
		"% Invalid input", "% Incomplete command", "% Ambiguous command", "% Unknown command",
		"%Error", "% Error", "Rollback aborted", "%Rollback", "% Failed", "failed to apply",
		// NAPALM: "Failed to apply command" is covered by "failed to apply" (case does not matter).
		"not a valid config file", "original configuration has been successfully restored",
	},
	// Cisco's configure replace ends in "Rollback Done"; some releases list the configlet instead.
	ReplaceSuccessMarkers: []string{"Rollback Done", "The rollback configlet from the last pass is listed below"},
	// What cvac's day-0 puts there for the lab to reach the router; `config save` gives a file with all of it.
	ReplaceRequires: []string{
		"aaa new-model", "aaa authentication login default local", "aaa authorization exec default local",
		"username admin ", "ip ssh pubkey-chain", "ip scp server enable", "interface GigabitEthernet1", "ip address dhcp",
	},
}

// projectGuest completes a kind that runs on one of the project's own Linux images (package images): they
// boot from -kernel/-initrd on -machine pc, read a NoCloud seed, name NICs eth0.., need entropy from
// virtio-rng, and print their readiness line on the serial console. k gives what differs between them.
func projectGuest(k Kind) *Kind {
	k.DefaultCPUs, k.MaxCPUs, k.MaxNICs = 1, 16, 16
	k.Machine, k.NICModel = "pc", "virtio-net-pci"
	k.Day0, k.Day0FileName = Day0NoCloud, "user-data"
	k.NICPrefix, k.NICLongPrefix, k.NICBase = "eth", "eth", 0
	k.DefaultBootTimeout, k.StopTimeout = 2*time.Minute, 30*time.Second
	// The initramfs prints its first line about 1.5 s after qemu starts under TCG; under KVM, sooner.
	k.KVMSilenceLimit = 10 * time.Second
	k.NeedsKernel, k.VirtioRNG, k.Vsock = true, true, true
	return &k
}

var builtin = []*Kind{
	projectGuest(Kind{
		Name:              "linux",
		Description:       "Linux host from a project image (default image: tiny)",
		DefaultImage:      "tiny",
		DefaultMemoryMiB:  256,
		MinMemoryMiB:      64,
		SSHUser:           "root",
		Show:              ShowLinux,
		ShellUser:         "root",
		AnsibleConnection: "ansible.builtin.ssh",
		ReadinessLine:     linuxReady,
		Config:            linuxConfig,
	}),
	projectGuest(Kind{
		Name:             "frr",
		Description:      "FRR router on the project's Linux image (default image: frr)",
		DefaultImage:     "frr",
		DefaultMemoryMiB: 384,
		MinMemoryMiB:     128,
		// images.RouterUser, whose login shell is vtysh (frr.frr network_cli needs it).
		SSHUser:           "admin",
		Show:              ShowFRR,
		ShellUser:         "root",
		AnsibleNetworkOS:  "frr.frr.frr",
		AnsibleConnection: "ansible.netcommon.network_cli",
		ReadinessLine:     "cloonix: frr ready", // after sshd: FRR answers vtysh (Ansible needs the daemons)
		Config:            frrConfig,
	}),
	{
		Name:        "iosxe",
		Description: "Cisco IOS-XE router from a vendor qcow2 (variants c8000v, csr1000v)",
		Variants: []Variant{
			{Name: "c8000v", Description: "Catalyst 8000v 17.x: modern ssh algorithms"},
			{Name: "csr1000v", Description: "CSR 1000v 16.x/17.3: SHA-1 ssh only", SSHLegacy: true},
		},
		DefaultMemoryMiB: 4096,
		// No reference runs 16.x/17.x below 4 GiB (vrnetlab, netlab, Cisco's data sheets).
		MinMemoryMiB:      4096,
		MaxMemoryMiB:      8192,
		DefaultCPUs:       1,
		MaxCPUs:           4,
		CPUCounts:         []int{1, 2, 4},
		MaxNICs:           16,
		Machine:           "pc",
		NICModel:          "virtio-net-pci",
		Day0:              Day0CVAC,
		Day0FileName:      "iosxe_config.txt",
		NICPrefix:         "Gi",
		NICLongPrefix:     "GigabitEthernet",
		NICBase:           1,
		SSHUser:           "admin",
		Show:              ShowIOSXE,
		SCPLegacy:         true,
		SSHLegacyOption:   true,
		SSHRSA:            true,
		SSHIdentitiesOnly: true,
		AnsibleNetworkOS:  "cisco.ios.ios",
		AnsibleConnection: "ansible.netcommon.network_cli",
		ReadinessLine:     "%CVAC-4-CONFIG_DONE",
		// CVAC runs once per disk; vrnetlab's launchers wait for this line on every boot.
		LaterBootReadinessLine: "Press RETURN to get started",
		ReadinessLogin:         "show clock",
		DefaultBootTimeout:     15 * time.Minute,
		// SeaBIOS and GRUB of the serial images print within seconds; a false alarm would cost a TCG boot of
		// IOS-XE, so the limit is generous.
		KVMSilenceLimit: 2 * time.Minute,
		StopTimeout:     2 * time.Minute,
		NeedsKernel:     false,
		DiskBus:         "ide",
		TCGCPU:          "max",
		Config:          iosxeConfig,
	},
}
