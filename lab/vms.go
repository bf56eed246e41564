package lab

import (
	"errors"
	"fmt"
	"github.com/cloonix-go/cloonix/impair"
	"io/fs"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cloonix-go/cloonix/kind"
	"github.com/cloonix-go/cloonix/tomlfile"
)

// Bounds of boot_timeout.
const (
	minBootTimeout = 10 * time.Second
	maxBootTimeout = 24 * time.Hour
)

func (p *parser) vms(raw map[string]any, l *Lab) []VM {
	v, present := raw["vm"]
	if !present {
		p.Add(tomlfile.Pos{Line: 1, Col: 1}, "the lab declares no VMs", `add a [[vm]] table with name = "vm1"`)
		return nil
	}
	tables, ok := tomlfile.Tables(v)
	if !ok {
		p.KeyProblem([]string{"vm"}, "vm must be an array of tables",
			`write each VM as [[vm]] (double brackets) followed by name = "vm1"`)
		return nil
	}
	natNames := map[string]bool{}
	for _, n := range l.NATs {
		natNames[n.Name] = true
	}
	seen := map[string]tomlfile.Pos{}
	macs := map[string]string{}
	var out []VM
	total, memReported := 0, false
	for i, t := range tables {
		base := []string{"vm", strconv.Itoa(i)}
		p.Unknown(t, base, vmKeys, "[[vm]]")
		vm, ok := p.vm(t, base, l, seen, natNames)
		// The memory total counts every VM whose size is known, so one bad VM hides no other problem.
		total += vm.MemoryMiB
		if p.env.HostMemoryMiB != nil && !memReported && vm.MemoryMiB > 0 {
			host, err := p.env.HostMemoryMiB()
			if err != nil {
				p.Add(tomlfile.Pos{Line: 1, Col: 1}, fmt.Sprintf("cannot check the memory total: %v", err), "check /proc/meminfo")
				memReported = true
			} else if total > host {
				p.ValProblem(tomlfile.Child(base, "memory"), fmt.Sprintf("the VMs need %d MiB in total up to %s, but this machine has %d MiB for VMs",
					total, vmLabel(vm, i), host), "lower memory on some VMs, or remove VMs")
				memReported = true
			}
		}
		if !ok {
			continue
		}
		for _, n := range vm.NICs {
			key := n.MAC.String()
			if other, dup := macs[key]; dup {
				p.KeyProblem(tomlfile.Child(base, "nics"), fmt.Sprintf("NIC %s of %s has the same derived MAC %s as %s", n.Name, vm.Name, key, other),
					"rename the VM")
			}
			macs[key] = vm.Name + " " + n.Name
		}
		out = append(out, vm)
	}
	return out
}

// vmLabel names a VM in messages even when its name is invalid.
func vmLabel(vm VM, i int) string {
	if vm.Name != "" {
		return vm.Name
	}
	return fmt.Sprintf("the VM of [[vm]] number %d", i+1)
}

// vm resolves one [[vm]] table. ok is false when the VM could not be resolved (problems are recorded).
func (p *parser) vm(t map[string]any, base []string, l *Lab, seen map[string]tomlfile.Pos, natNames map[string]bool) (VM, bool) {
	var vm VM
	good := true
	if _, present := t["name"]; !present {
		p.KeyProblem(base, "[[vm]] has no name", `add name = "vm1"`)
		good = false
	} else if name, ok := p.Str(t, base, "name", `name = "vm1"`); !ok || !p.checkName(tomlfile.Child(base, "name"), "VM", name) {
		good = false
	} else if !p.unique(seen, tomlfile.Child(base, "name"), "VM", name) {
		good = false
	} else if natNames[name] {
		p.ValProblem(tomlfile.Child(base, "name"), fmt.Sprintf("VM name %q is also the name of a NAT", name),
			"rename the VM or the NAT; both are addressed by name")
		good = false
	} else {
		vm.Name = name
	}
	kindName := "linux"
	if s, ok := p.Str(t, base, "kind", `kind = "linux"`); ok {
		kindName = s
	} else if _, present := t["kind"]; present {
		return vm, false
	}
	k, err := kind.Lookup(kindName)
	if err != nil {
		fix := "known kinds: " + strings.Join(kind.Names(), ", ")
		if c := tomlfile.Closest(kindName, kind.Names()); c != "" {
			fix = fmt.Sprintf("did you mean %q? %s", c, fix)
		}
		p.ValProblem(tomlfile.Child(base, "kind"), fmt.Sprintf("unknown kind %q", kindName), fix)
		return vm, false
	}
	vm.Kind = k

	variantName, _ := p.Str(t, base, "variant", `variant = "c8000v"`)
	variant, err := k.Variant(variantName)
	if err != nil {
		fix := "remove variant"
		if len(k.Variants) > 0 {
			fix = "use one of: " + strings.Join(k.VariantNames(), ", ")
		}
		p.ValProblem(tomlfile.Child(base, "variant"), err.Error(), fix)
		good = false
	}
	vm.Variant = variant.Name

	good = p.vmImage(t, base, k, &vm) && good
	good = p.vmSizes(t, base, k, &vm) && good

	if s, ok := p.Str(t, base, "day0", `day0 = "vm1-user-data.yaml"`); ok {
		if k.Day0 == kind.Day0None {
			p.KeyProblem(tomlfile.Child(base, "day0"), fmt.Sprintf("kind %s takes no day-0 file", k.Name), "remove day0")
			good = false
		} else if abs, msg, fix := p.checkFile("day-0 file", s, false); msg != "" {
			p.ValProblem(tomlfile.Child(base, "day0"), msg, fix)
			good = false
		} else {
			vm.Day0, vm.Day0Given = abs, s
		}
	}
	vm.SSHLegacy = variant.SSHLegacy
	if b, ok := p.Bool(t, base, "ssh_legacy"); ok {
		if !k.SSHLegacyOption {
			p.KeyProblem(tomlfile.Child(base, "ssh_legacy"), fmt.Sprintf("ssh_legacy does not apply to kind %s", k.Name),
				"remove it; only kinds with old ssh servers (iosxe) take it")
			good = false
		}
		vm.SSHLegacy = b
	}
	vm.Vsock = k.Vsock
	if b, ok := p.Bool(t, base, "vsock"); ok {
		if b && !k.Vsock {
			p.KeyProblem(tomlfile.Child(base, "vsock"), fmt.Sprintf("kind %s has no vsock (its images run no vsock bridge)", k.Name),
				"remove vsock; reach it through a NAT")
			good = false
		}
		vm.Vsock = b
	}
	vm.BootTimeout = k.DefaultBootTimeout
	if s, ok := p.Str(t, base, "boot_timeout", `boot_timeout = "15m"`); ok {
		d, err := time.ParseDuration(s)
		switch {
		case err != nil:
			p.ValProblem(tomlfile.Child(base, "boot_timeout"), fmt.Sprintf("boot_timeout %q is not a duration", s),
				`write it like boot_timeout = "15m" or "90s"`)
			good = false
		case d < minBootTimeout || d > maxBootTimeout:
			p.ValProblem(tomlfile.Child(base, "boot_timeout"), fmt.Sprintf("boot_timeout %s is out of range", s),
				fmt.Sprintf("use %s..%s", minBootTimeout, maxBootTimeout))
			good = false
		default:
			vm.BootTimeout = d
		}
	}
	nics, ok := p.vmNICs(t, base, k, l, vm.Name)
	good = ok && good
	vm.NICs = nics
	vm.Impair = p.vmImpair(t, base, vm.NICs)
	return vm, good
}

var memRE = regexp.MustCompile(`^\s*([0-9]+)\s*(M|MiB|G|GiB)\s*$`)

func (p *parser) vmSizes(t map[string]any, base []string, k *kind.Kind, vm *VM) bool {
	good := true
	vm.MemoryMiB = k.DefaultMemoryMiB
	if v, present := t["memory"]; present {
		path := tomlfile.Child(base, "memory")
		mem := -1
		switch v := v.(type) {
		case int64:
			if v > 0 && v < 1<<30 {
				mem = int(v)
			}
		case string:
			if m := memRE.FindStringSubmatch(v); m != nil {
				n, err := strconv.Atoi(m[1])
				if err == nil && n < 1<<20 {
					mem = n
					if strings.HasPrefix(m[2], "G") {
						mem = n * 1024
					}
				}
			}
		}
		switch {
		case mem < 0:
			p.ValProblem(path, fmt.Sprintf("memory %s is not a size", tomlfile.TypeName(v)),
				`write MiB as an integer (memory = 512) or a string with a unit (memory = "4G")`)
			good = false
		case mem < k.MinMemoryMiB || k.MaxMemoryMiB > 0 && mem > k.MaxMemoryMiB:
			rng := fmt.Sprintf("at least %d MiB", k.MinMemoryMiB)
			if k.MaxMemoryMiB > 0 {
				rng = fmt.Sprintf("%d..%d MiB", k.MinMemoryMiB, k.MaxMemoryMiB)
			}
			p.ValProblem(path, fmt.Sprintf("memory %d MiB is out of range for kind %s", mem, k.Name),
				fmt.Sprintf("use %s (default %d)", rng, k.DefaultMemoryMiB))
			good = false
		default:
			vm.MemoryMiB = mem
		}
	}
	vm.CPUs = k.DefaultCPUs
	if n, ok := p.Int(t, base, "cpus", "cpus = 1"); ok {
		if n < 1 || n > int64(k.MaxCPUs) {
			p.ValProblem(tomlfile.Child(base, "cpus"), fmt.Sprintf("cpus %d is out of range for kind %s", n, k.Name),
				fmt.Sprintf("use 1..%d", k.MaxCPUs))
			good = false
		} else if len(k.CPUCounts) > 0 && !slices.Contains(k.CPUCounts, int(n)) {
			p.ValProblem(tomlfile.Child(base, "cpus"), fmt.Sprintf("cpus %d is not supported by kind %s", n, k.Name),
				"use one of "+strings.Trim(strings.Join(strings.Fields(fmt.Sprint(k.CPUCounts)), ", "), "[]"))
			good = false
		} else {
			vm.CPUs = int(n)
		}
	} else if _, present := t["cpus"]; present {
		good = false
	}
	return good
}

// isImagePath tells an image file path from a built image name.
func isImagePath(s string) bool {
	return strings.ContainsRune(s, '/') || strings.HasSuffix(s, ".qcow2") || strings.HasSuffix(s, ".img")
}

func (p *parser) vmImage(t map[string]any, base []string, k *kind.Kind, vm *VM) bool {
	img, ok := p.Str(t, base, "image", `image = "tiny"`)
	if !ok {
		if _, present := t["image"]; present {
			return false
		}
		img = k.DefaultImage
	}
	if img == "" {
		p.KeyProblem(base, fmt.Sprintf("VM %s of kind %s needs an image", vm.Name, k.Name),
			`add image = "c8000v.qcow2" (a qcow2 path relative to the lab file)`)
		return false
	}
	r, cached := p.images[img]
	if !cached {
		r = p.resolveImage(img)
		p.images[img] = r
	}
	if r.msg != "" {
		p.ValProblem(tomlfile.Child(base, "image"), r.msg, r.fix)
		return false
	}
	vm.Image = r.ref
	return true
}

func (p *parser) resolveImage(img string) imageResult {
	if isImagePath(img) && p.env.ImagesOn != "" {
		if !filepath.IsAbs(img) {
			return imageResult{msg: fmt.Sprintf("image file %s is relative, but the lab runs on %s, where the image must already be", img, p.env.ImagesOn),
				fix: fmt.Sprintf("write the absolute path it has there, after copying it, e.g.: scp %s %s: (then image = \"/home/USER/%s\")", img, p.env.ImagesOn, filepath.Base(img))}
		}
		return imageResult{ref: ImageRef{Name: strings.TrimSuffix(filepath.Base(img), filepath.Ext(img)), Disk: filepath.Clean(img)}}
	}
	if isImagePath(img) {
		abs, msg, fix := p.checkFile("image file", img, true)
		if msg != "" && p.env.CopyFrom != "" && errors.Is(p.lastFileErr, fs.ErrNotExist) {
			want := img
			if !filepath.IsAbs(want) {
				want = filepath.Join(p.dir, img)
			}
			fix = fmt.Sprintf("copy it to this server first, from your machine: scp %s %s:%s", filepath.Base(want), p.env.CopyFrom, want)
		}
		if msg != "" {
			return imageResult{msg: msg, fix: fix}
		}
		return imageResult{ref: ImageRef{Name: strings.TrimSuffix(filepath.Base(abs), filepath.Ext(abs)), Disk: abs}}
	}
	if p.env.ResolveImage == nil {
		return imageResult{ref: ImageRef{Name: img}}
	}
	ref, err := p.env.ResolveImage(img)
	if err != nil {
		if isNotBuilt(err) {
			return imageResult{msg: fmt.Sprintf("image %q is not built", img), fix: "run: cloonix-labd image build " + img}
		}
		return imageResult{msg: fmt.Sprintf("image %q: %v", img, err), fix: "check the image cache (cloonix-labd image list)"}
	}
	if ref.Name == "" {
		ref.Name = img
	}
	return imageResult{ref: ref}
}

// vmNICs resolves [vm.nics]: interface name → LAN.
func (p *parser) vmNICs(t map[string]any, base []string, k *kind.Kind, l *Lab, vmName string) ([]NIC, bool) {
	good := true
	byIndex := map[int]NIC{}
	keyOf := map[int]string{}
	if v, present := t["nics"]; present {
		nt, ok := tomlfile.Table(v)
		if !ok {
			p.ValProblem(tomlfile.Child(base, "nics"), fmt.Sprintf("nics must be a table, not %s", tomlfile.TypeName(v)),
				fmt.Sprintf(`write [vm.nics] then %s = "mgmt", or nics = { %s = "mgmt" }`, k.NICName(0), k.NICName(0)))
			return nil, false
		}
		nbase := tomlfile.Child(base, "nics")
		for _, ifname := range p.SortedKeys(nt, nbase) {
			path := tomlfile.Child(nbase, ifname)
			idx, err := k.NICIndex(ifname)
			if err != nil {
				p.KeyProblem(path, fmt.Sprintf("bad interface name %q for kind %s", ifname, k.Name),
					fmt.Sprintf("use %s..%s", k.NICName(0), k.NICName(k.MaxNICs-1)))
				good = false
				continue
			}
			lan, ok := nt[ifname].(string)
			if !ok {
				p.ValProblem(path, fmt.Sprintf("%s must name a LAN, not %s", ifname, tomlfile.TypeName(nt[ifname])),
					fmt.Sprintf(`write it like %s = "lan12"`, ifname))
				good = false
				continue
			}
			if prev, dup := keyOf[idx]; dup {
				p.KeyProblem(path, fmt.Sprintf("%s and %s are the same interface", prev, ifname), "keep one of them")
				good = false
				continue
			}
			keyOf[idx] = ifname
			if !p.checkName(path, "LAN", lan) {
				good = false
				continue
			}
			if _, known := l.LAN(lan); !known {
				var names []string
				for _, d := range l.LANs {
					names = append(names, d.Name)
				}
				fix := fmt.Sprintf(`declare it with [[lan]] name = %q`, lan)
				if c := tomlfile.Closest(lan, names); c != "" {
					fix = fmt.Sprintf("did you mean %q? or %s", c, fix)
				} else if len(names) > 0 {
					fix += "; declared LANs: " + quoteList(names)
				}
				p.ValProblem(path, fmt.Sprintf("%s joins LAN %q, which is not declared", ifname, lan), fix)
				good = false
				continue
			}
			byIndex[idx] = NIC{Index: idx, Name: k.NICName(idx), LAN: lan}
		}
	}
	if _, has0 := keyOf[0]; !has0 && len(l.NATs) > 0 {
		byIndex[0] = NIC{Index: 0, Name: k.NICName(0), LAN: l.NATs[0].LAN}
		keyOf[0] = k.NICName(0)
	}
	indices := make([]int, 0, len(keyOf))
	for i := range keyOf {
		indices = append(indices, i)
	}
	sort.Ints(indices)
	next := 0
	for _, i := range indices {
		if i != next {
			missing := k.NICName(next)
			if i-next > 1 {
				missing += ".." + k.NICName(i-1)
			}
			p.KeyProblem(tomlfile.Child(base, "nics", keyOf[i]), fmt.Sprintf("interfaces %s are missing before %s", missing, keyOf[i]),
				fmt.Sprintf("NICs are numbered from %s without gaps; add the missing ones or renumber", k.NICName(0)))
			good = false
		}
		next = i + 1
	}
	if !good || vmName == "" || l.Name == "" {
		return nil, good
	}
	nics := make([]NIC, 0, len(byIndex))
	for _, i := range indices {
		n := byIndex[i]
		n.MAC = MAC(l.Name, vmName, n.Name)
		nics = append(nics, n)
	}
	return nics, true
}

// vmImpair reads [vm.impair]: NIC name → impairment words, each checked.
func (p *parser) vmImpair(t map[string]any, base []string, nics []NIC) map[string]string {
	v, present := t["impair"]
	if !present {
		return nil
	}
	it, ok := tomlfile.Table(v)
	if !ok {
		p.ValProblem(tomlfile.Child(base, "impair"), fmt.Sprintf("impair must be a table, not %s", tomlfile.TypeName(v)),
			`write [vm.impair] then eth1 = "delay=50ms loss=1%"`)
		return nil
	}
	ibase := tomlfile.Child(base, "impair")
	out := map[string]string{}
	for _, nic := range p.SortedKeys(it, ibase) {
		path := tomlfile.Child(ibase, nic)
		known := false
		for _, n := range nics {
			known = known || n.Name == nic
		}
		if !known {
			var names []string
			for _, n := range nics {
				names = append(names, n.Name)
			}
			p.KeyProblem(path, fmt.Sprintf("impair names NIC %q, which this VM does not have", nic), "NICs: "+strings.Join(names, ", "))
			continue
		}
		words, ok := it[nic].(string)
		if !ok {
			p.ValProblem(path, fmt.Sprintf("%s must be a string of impairments, not %s", nic, tomlfile.TypeName(it[nic])), `write it like eth1 = "delay=50ms loss=1%"`)
			continue
		}
		_, rest, err := impair.SplitDir(strings.Fields(words))
		if err == nil {
			_, err = impair.Parse(impair.Spec{}, rest)
		}
		if err != nil {
			p.ValProblem(path, err.Error(), "see: cloonix-labd link presets")
			continue
		}
		out[nic] = words
	}
	return out
}
