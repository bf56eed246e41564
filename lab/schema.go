package lab

import (
	"fmt"
	"github.com/cloonix-go/cloonix/impair"
	"net/netip"
	"strconv"
	"strings"

	"github.com/cloonix-go/cloonix/labpath"
	"github.com/cloonix-go/cloonix/tomlfile"
)

// Defaults of schema version 1.
const (
	// DefaultNATName is the name of a NAT that declares none.
	DefaultNATName = "nat"
	// DefaultNATLAN is the LAN a NAT joins when it names none; it is created if not declared.
	DefaultNATLAN = "mgmt"
	// NATLANMTU is the default MTU of a LAN that holds a NAT: the largest frame that fits qemu's stream
	// frame cap, so virtio without a vnet header is fast.
	NATLANMTU = 65520
	// DefaultLANMTU is the default MTU of a LAN without a NAT.
	DefaultLANMTU = 1500
	// DefaultRecorderKiB is a LAN's flight recorder size when the lab file gives none; MaxRecorderKiB bounds it.
	DefaultRecorderKiB, MaxRecorderKiB = 4096, 1 << 20
	// MinMTU and MaxMTU bound a LAN's mtu.
	MinMTU, MaxMTU = 576, 65520
)

var (
	topKeys = []string{"version", "name", "seed", "tests", "lan", "nat", "vm", "fault"}
	lanKeys = []string{"name", "mtu", "recorder_kib", "impair"}
	natKeys = []string{"name", "lan", "subnet", "gateway", "allow_host_loopback", "dns"}
	vmKeys  = []string{"name", "kind", "variant", "image", "memory", "cpus", "day0", "nics", "ssh_legacy",
		"boot_timeout", "vsock", "impair"}
)

// defaultSubnet is the subnet of the i-th NAT that declares none: 10.99.i.0/24.
func defaultSubnet(i int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 99, byte(i), 0}), 24)
}

type lanDecl struct {
	lan    LAN
	path   []string
	mtuSet bool
}

func (p *parser) lab(raw map[string]any) *Lab {
	l := &Lab{File: p.File, Dir: p.dir}
	p.Unknown(raw, nil, topKeys, "the lab file")
	if v, ok := p.Int(raw, nil, "version", "version = 1"); ok && v != 1 {
		p.ValProblem([]string{"version"}, fmt.Sprintf("unsupported schema version %d", v),
			"this cloonix reads version = 1")
	}
	if _, present := raw["name"]; !present {
		p.Add(tomlfile.Pos{Line: 1, Col: 1}, "the lab has no name",
			`add name = "nemo" at the top; it names the server, as in: cloonix-proxy nemo nat vm1`)
	} else if name, ok := p.Str(raw, nil, "name", `name = "nemo"`); ok && p.checkName([]string{"name"}, "lab", name) {
		l.Name = name
	}
	if v, ok := p.Int(raw, nil, "seed", "seed = 42"); ok {
		if v < 0 {
			p.ValProblem([]string{"seed"}, "seed must not be negative", "write it like seed = 42")
		} else {
			l.Seed = uint64(v)
		}
	}
	if t, ok := p.Str(raw, nil, "tests", `tests = "tests.toml"`); ok {
		if abs, msg, fix := p.checkFile("tests file", t, false); msg != "" {
			p.ValProblem([]string{"tests"}, msg, fix)
		} else {
			l.Tests = abs
		}
	}
	lans := p.lans(raw)
	l.NATs = p.nats(raw, &lans)
	for _, d := range lans {
		l.LANs = append(l.LANs, d.lan)
	}
	l.VMs = p.vms(raw, l)
	l.Faults = p.faults(raw, l)
	return l
}

// faults reads [[fault]]: each table's values are strings (durations too), checked by ParseFault.
func (p *parser) faults(raw map[string]any, l *Lab) []Fault {
	v, present := raw["fault"]
	if !present {
		return nil
	}
	tables, ok := tomlfile.Tables(v)
	if !ok {
		p.KeyProblem([]string{"fault"}, "fault must be an array of tables", `write each as [[fault]] with link = "r1:eth1", action = "down", for = "3s"`)
		return nil
	}
	var out []Fault
	for i, t := range tables {
		base := []string{"fault", strconv.Itoa(i)}
		kv := map[string]string{}
		good := true
		for _, k := range p.SortedKeys(t, base) {
			s, ok := t[k].(string)
			if !ok {
				p.ValProblem(tomlfile.Child(base, k), fmt.Sprintf("%s must be a string, not %s", k, tomlfile.TypeName(t[k])), fmt.Sprintf(`write it like %s = "3s"`, k))
				good = false
				continue
			}
			kv[k] = s
		}
		if !good {
			continue
		}
		f, err := ParseFault(kv, l)
		if err != nil {
			p.KeyProblem(base, err.Error(), "keys: "+FaultKeys)
			continue
		}
		out = append(out, f)
	}
	return out
}

func (p *parser) lans(raw map[string]any) []*lanDecl {
	v, present := raw["lan"]
	if !present {
		return nil
	}
	tables, ok := tomlfile.Tables(v)
	if !ok {
		p.KeyProblem([]string{"lan"}, "lan must be an array of tables",
			`write each LAN as [[lan]] (double brackets) followed by name = "lan12"`)
		return nil
	}
	seen := map[string]tomlfile.Pos{}
	var out []*lanDecl
	for i, t := range tables {
		base := []string{"lan", strconv.Itoa(i)}
		p.Unknown(t, base, lanKeys, "[[lan]]")
		d := &lanDecl{path: base, lan: LAN{MTU: DefaultLANMTU, RecorderKiB: DefaultRecorderKiB}}
		if _, present := t["name"]; !present {
			p.KeyProblem(base, "[[lan]] has no name", `add name = "lan12"`)
		} else if name, ok := p.Str(t, base, "name", `name = "lan12"`); ok &&
			p.checkName(tomlfile.Child(base, "name"), "LAN", name) && p.unique(seen, tomlfile.Child(base, "name"), "LAN", name) {
			d.lan.Name = name
		}
		if mtu, ok := p.Int(t, base, "mtu", "mtu = 1500"); ok {
			if mtu < MinMTU || mtu > MaxMTU {
				p.ValProblem(tomlfile.Child(base, "mtu"), fmt.Sprintf("mtu %d is out of range", mtu),
					fmt.Sprintf("use %d..%d (65520 is the fastest; 1500 is what routers expect)", MinMTU, MaxMTU))
			} else {
				d.lan.MTU, d.mtuSet = int(mtu), true
			}
		}
		if kib, ok := p.Int(t, base, "recorder_kib", "recorder_kib = 4096"); ok {
			if kib < 0 || kib > MaxRecorderKiB {
				p.ValProblem(tomlfile.Child(base, "recorder_kib"), fmt.Sprintf("recorder_kib %d is out of range", kib),
					fmt.Sprintf("use 0 (no flight recorder) to %d; the default is %d", MaxRecorderKiB, DefaultRecorderKiB))
			} else {
				d.lan.RecorderKiB = int(kib)
			}
		}
		if words, ok := p.Str(t, base, "impair", `impair = "delay=20ms loss=0.5%"`); ok {
			if _, err := impair.Parse(impair.Spec{}, strings.Fields(words)); err != nil {
				p.ValProblem(tomlfile.Child(base, "impair"), err.Error(), "see: cloonix-labd link presets")
			} else {
				d.lan.Impair = words
			}
		}
		if d.lan.Name != "" {
			out = append(out, d)
		}
	}
	return out
}

func findLAN(lans []*lanDecl, name string) *lanDecl {
	for _, d := range lans {
		if d.lan.Name == name {
			return d
		}
	}
	return nil
}

func lanNames(lans []*lanDecl) []string {
	out := make([]string, len(lans))
	for i, d := range lans {
		out[i] = d.lan.Name
	}
	return out
}

// nats reads [nat] or [[nat]], and adds the LANs NATs create implicitly to lans.
func (p *parser) nats(raw map[string]any, lans *[]*lanDecl) []NAT {
	v, present := raw["nat"]
	if !present {
		return nil
	}
	var tables []map[string]any
	var bases [][]string
	if t, ok := tomlfile.Table(v); ok {
		tables, bases = []map[string]any{t}, [][]string{{"nat"}}
	} else if ts, ok := tomlfile.Tables(v); ok {
		tables = ts
		for i := range ts {
			bases = append(bases, []string{"nat", strconv.Itoa(i)})
		}
	} else {
		p.ValProblem([]string{"nat"}, "nat must be a table", "write [nat] (one NAT) or [[nat]] (several)")
		return nil
	}
	seenName, seenLAN := map[string]tomlfile.Pos{}, map[string]tomlfile.Pos{}
	var out []NAT
	for i, t := range tables {
		base := bases[i]
		p.Unknown(t, base, natKeys, "[nat]")
		n := NAT{Name: DefaultNATName, LAN: DefaultNATLAN, Subnet: defaultSubnet(i)}
		if name, ok := p.Str(t, base, "name", `name = "nat"`); ok {
			n.Name = name
			if p.checkName(tomlfile.Child(base, "name"), "NAT", name) && name == labpath.VsockEntity {
				p.ValProblem(tomlfile.Child(base, "name"), `NAT name "vsock" is taken: it names the vsock path (cloonix-proxy LAB vsock VM)`,
					`name the NAT otherwise, e.g. name = "nat"`)
			} else if name == labpath.CaptureWord {
				p.ValProblem(tomlfile.Child(base, "name"), `NAT name "capture" is taken: it names captures (cloonix-proxy LAB capture lan12)`,
					`name the NAT otherwise, e.g. name = "nat"`)
			}
		}
		p.unique(seenName, tomlfile.Child(base, "name"), "NAT", n.Name)
		lanOK := true
		if lan, ok := p.Str(t, base, "lan", `lan = "mgmt"`); ok {
			n.LAN = lan
			lanOK = p.checkName(tomlfile.Child(base, "lan"), "LAN", lan)
		} else if _, present := t["lan"]; present {
			lanOK = false
		}
		if lanOK {
			if prev, dup := seenLAN[n.LAN]; dup {
				p.ValProblem(tomlfile.Child(base, "lan"), fmt.Sprintf("LAN %q already has a NAT (line %d); two DHCP servers on one LAN fight",
					n.LAN, prev.Line), "put each NAT on its own LAN")
			} else {
				seenLAN[n.LAN] = p.Where(tomlfile.Child(base, "lan"), true)
			}
		}
		if s, ok := p.Str(t, base, "subnet", `subnet = "10.99.0.0/24"`); ok {
			if pfx, msg, fix := parseSubnet(s); msg != "" {
				p.ValProblem(tomlfile.Child(base, "subnet"), msg, fix)
			} else {
				n.Subnet = pfx
			}
		}
		n.Gateway = n.Subnet.Addr().Next()
		if s, ok := p.Str(t, base, "gateway", `gateway = "10.99.0.1"`); ok {
			if gw, msg, fix := parseGateway(s, n.Subnet); msg != "" {
				p.ValProblem(tomlfile.Child(base, "gateway"), msg, fix)
			} else {
				n.Gateway = gw
			}
		}
		if b, ok := p.Bool(t, base, "allow_host_loopback"); ok {
			n.AllowHostLoopback = b
		}
		n.DNS = p.dnsList(t, base)
		for _, o := range out {
			if o.Subnet.Overlaps(n.Subnet) {
				p.ValProblem(tomlfile.Child(base, "subnet"), fmt.Sprintf("subnet %s overlaps subnet %s of NAT %q", n.Subnet,
					o.Subnet, o.Name), "give each NAT its own subnet")
			}
		}
		// A NAT with problems is still recorded (the parse fails anyway), so that VMs on its LAN do not
		// report follow-on problems.
		if lanOK {
			if d := findLAN(*lans, n.LAN); d == nil {
				*lans = append(*lans, &lanDecl{lan: LAN{Name: n.LAN, MTU: NATLANMTU, RecorderKiB: DefaultRecorderKiB}, path: base})
			} else if !d.mtuSet {
				d.lan.MTU = NATLANMTU
			}
		}
		out = append(out, n)
	}
	return out
}

func parseSubnet(s string) (netip.Prefix, string, string) {
	pfx, err := netip.ParsePrefix(s)
	if err != nil || !pfx.Addr().Is4() {
		return pfx, fmt.Sprintf("subnet %q is not an IPv4 prefix", s), `write it like subnet = "10.99.0.0/24"`
	}
	if pfx.Bits() < 8 || pfx.Bits() > 29 {
		return pfx, fmt.Sprintf("subnet %s has a /%d prefix", s, pfx.Bits()), "use a prefix length from /8 to /29"
	}
	if pfx.Masked() != pfx {
		return pfx, fmt.Sprintf("subnet %s has host bits set", s), fmt.Sprintf("write subnet = %q", pfx.Masked().String())
	}
	return pfx, "", ""
}

func parseGateway(s string, subnet netip.Prefix) (netip.Addr, string, string) {
	gw, err := netip.ParseAddr(s)
	if err != nil || !gw.Is4() {
		return gw, fmt.Sprintf("gateway %q is not an IPv4 address", s), `write it like gateway = "10.99.0.1"`
	}
	first := subnet.Addr()
	if !subnet.Contains(gw) || gw == first || gw == lastAddr(subnet) {
		return gw, fmt.Sprintf("gateway %s is not a host address of subnet %s", s, subnet),
			fmt.Sprintf("use an address such as %s, or leave gateway out", first.Next())
	}
	// The gateway and the host alias right after it must stay out of the DHCP pool, which starts at the
	// tenth host address: so the gateway is one of the first eight.
	limit := first
	for i := 0; i < 8; i++ {
		limit = limit.Next()
	}
	if limit.Less(gw) {
		return gw, fmt.Sprintf("gateway %s is past the first 8 host addresses of subnet %s (they are kept for the NAT's own addresses; DHCP hands out the rest)", s, subnet),
			fmt.Sprintf("use an address from %s to %s, or leave gateway out", first.Next(), limit)
	}
	return gw, "", ""
}

func lastAddr(pfx netip.Prefix) netip.Addr {
	a := pfx.Addr().As4()
	n := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	n |= 1<<(32-pfx.Bits()) - 1
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

// dnsList reads dns = ["ip", "ip:port", ...] and normalizes each to "ip:port".
func (p *parser) dnsList(t map[string]any, base []string) []string {
	v, present := t["dns"]
	if !present {
		return nil
	}
	list, ok := v.([]any)
	if !ok {
		p.ValProblem(tomlfile.Child(base, "dns"), fmt.Sprintf("dns must be a list of addresses, not %s", tomlfile.TypeName(v)),
			`write it like dns = ["192.0.2.53", "127.0.0.1:5353"], or leave it out to use the host's resolvers`)
		return nil
	}
	var out []string
	for i, e := range list {
		path := tomlfile.Child(base, "dns", strconv.Itoa(i))
		s, ok := e.(string)
		if !ok {
			p.ValProblem(path, fmt.Sprintf("dns entry %s is not a string", tomlfile.TypeName(e)), `quote it: "192.0.2.53"`)
			continue
		}
		if ap, err := netip.ParseAddrPort(s); err == nil && ap.Port() != 0 {
			out = append(out, ap.String())
		} else if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, netip.AddrPortFrom(a, 53).String())
		} else {
			p.ValProblem(path, fmt.Sprintf("dns entry %q is not an IP address or IP:port", s),
				`write it like "192.0.2.53" or "127.0.0.1:5353" (a name would need DNS to resolve)`)
		}
	}
	return out
}

// quoteList formats names for a fix hint.
func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}
