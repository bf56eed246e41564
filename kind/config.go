package kind

// ConfigOps says how `cloonix-labd config push` and `config save` reach a guest's configuration. Every
// command runs through the lab's generated ssh_config (so through cloonix-proxy); the copy is the system
// scp, with -O when the kind's SCPLegacy is set.
type ConfigOps struct {
	// User is the login user for push and save; "" means the kind's SSHUser (the ssh_config's User).
	User string
	// PushPath is where scp writes the file for a merge: "/tmp/cloonix-push.conf" on Linux kinds,
	// "bootflash:cloonix-push.cfg" on IOS-XE (LoadCommand then copies it to running-config).
	PushPath string
	// LoadCommand runs over ssh after the copy to apply it (merge); "" when the copy itself applies it.
	LoadCommand string
	// ReplacePath is where scp writes the file for --replace; "" means PushPath.
	ReplacePath string
	// ReplaceCommand runs after the --replace copy; "" means LoadCommand.
	ReplaceCommand string
	// SaveCommand prints the running configuration on stdout.
	SaveCommand string
	// SaveSkipUntil drops the lines SaveCommand prints before the first line equal to it ("!" on IOS-XE,
	// whose "Building configuration..." header is not configuration); "" keeps everything.
	SaveSkipUntil string
	// ErrorMarkers are texts in a command's answer that mean the guest refused it even though the ssh
	// exit status was 0 (IOS-XE answers every exec command with status 0). They match without regard to
	// case.
	ErrorMarkers []string
	// ReplaceSuccessMarkers, when set, are texts of which the answer to ReplaceCommand must hold one (after
	// no ErrorMarker matched): a replace that printed none of them did not finish. Case does not matter.
	ReplaceSuccessMarkers []string
	// ReplaceRequires are the lines (by prefix, leading blanks ignored) a --replace file must hold: the lab's
	// own management lines, which a replace without them would delete, locking the lab out (IOS-XE: AAA,
	// the user, the key, SCP, DHCP on Gi1). config push refuses such a file, naming what is missing.
	ReplaceRequires []string
}

// Pushable reports whether the kind supports config push and save.
func (o ConfigOps) Pushable() bool { return o.PushPath != "" && o.SaveCommand != "" }
