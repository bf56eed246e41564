// Package demo plays demos: a lab file, the configurations it pushes and a steps file, played by one generic
// runner that prints one line per step (`15:04:05 step-name ... ok (1.2s)`) and stops at the first failure,
// naming the step.
//
// A demo is a directory (the built-in ones are embedded from examples/demos) holding steps.toml:
//
//	title = "OSPF between three FRR routers"   # one line for `cloonix-labd demo`
//	lab = "lab.toml"                           # the lab file, relative to the demo directory
//	next = """..."""                           # printed at the end; {lab} {ssh_config} {include} {dir} are filled
//	takes = "60s"                              # how long it plays here (2 cores, TCG, warm cache): listed
//
//	[requires]
//	images = ["tiny", "frr"]     # project images the runner builds first (a warm cache makes this instant)
//	image = "an IOS-XE qcow2"    # when set, the user must give --image PATH; it fills {{image}} in the lab file
//	memory_mib = 14000           # the host needs this much memory for the lab (checked before anything starts)
//
//	[[step]]
//	name = "push router configs" # the step's line in the output; defaults to the action and its VMs
//	do = "push"                  # build | up | push | wait | run | expect | validate | link | impair | copy | sleep | down
//	vms = ["r1", "r2", "r3"]     # or vm = "r1"; a step over several VMs runs on them in parallel
//	file = "{vm}.conf"           # push: the file to copy, relative to the demo directory ({vm} is filled)
//
// Actions:
//   - build: build the images of [requires] images (cached).
//   - up: start the lab from its lab file and wait until every VM's sshd answers.
//   - push: copy file to each VM and load it (package configpush); replace = true replaces instead of merging.
//   - run: run cmd on each VM over ssh (as user, default the kind's ssh user) and print its output.
//   - expect: run cmd once; its output must match the regular expression match (and not not_match), and
//     expr, when given, must be true (an expr-lang expression over output, lines and json, as in a tests
//     file's command check). expect and wait steps are package validate's command checks: one PASS/FAIL
//     line per VM, as `cloonix-labd validate` prints them.
//   - wait: run cmd every second until its output passes those checks, at most timeout.
//   - validate: run the demo's tests file (file, default tests.toml) with package validate.
//   - link: take a VM's NIC (nic) down or up (state), through the lab daemon (LAN port and QMP set_link).
//   - copy: copy a file from one VM to another through the host (from = "r1:/etc/wireguard/public",
//     to = "r2:/etc/wireguard/peer"), as user (default root), the copy readable by its owner only.
//   - impair: set impairments on a VM's NIC in the switch (set = "loss=100%", dir = "out" | "in" | "both"),
//     or clear = true to remove them: the link stays up, so only a protocol (BFD, hellos) can notice.
//   - sleep: wait timeout.
//   - down: stop the lab. The runner also stops it at the end, once an up step has started, unless asked to
//     keep it: after the last step, after a failed step and after an interrupt.
//
// print = true prints a step's output under its line (run always prints it).
package demo
