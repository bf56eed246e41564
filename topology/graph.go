package topology

import (
	"github.com/cloonix-go/cloonix/api"
	"github.com/cloonix-go/cloonix/lab"
)

// Node types.
const (
	TypeVM  = "vm"
	TypeLAN = "lan"
	TypeNAT = "nat"
)

// Graph is a lab's topology. Nodes and Edges keep the lab file's order.
type Graph struct {
	Lab string `json:"lab"`
	// Live is set when the graph carries the running lab's state, not only its file's.
	Live  bool   `json:"live"`
	Nodes []Node `json:"nodes"`
	Edges []Edge `json:"edges"`
}

// Node is a VM, a LAN or a NAT.
type Node struct {
	ID   string `json:"id"`   // "vm:r1", "lan:lan12", "nat:nat0": unique in the graph
	Type string `json:"type"` // TypeVM, TypeLAN or TypeNAT
	Name string `json:"name"` // the name in the lab file

	// A VM's.
	Kind      string `json:"kind,omitempty"`
	Image     string `json:"image,omitempty"`
	MemoryMiB int    `json:"memory_mib,omitempty"`
	CPUs      int    `json:"cpus,omitempty"`
	// Live, a VM's: its state, accelerator (and why), its management address (the lease of its NAT).
	State       string `json:"state,omitempty"`
	Accel       string `json:"accel,omitempty"`
	AccelReason string `json:"accel_reason,omitempty"`
	IP          string `json:"ip,omitempty"`

	// A LAN's MTU (0: the default).
	MTU int `json:"mtu,omitempty"`
	// A NAT's subnet and gateway.
	Subnet  string `json:"subnet,omitempty"`
	Gateway string `json:"gateway,omitempty"`
}

// Edge joins a VM's NIC, or a NAT, to a LAN.
type Edge struct {
	ID   string `json:"id"`   // "r1:eth1" (a NIC, as `capture` and `link` name it) or "nat-port:nat0"; never a node's ID
	From string `json:"from"` // node ID of the VM or NAT
	To   string `json:"to"`   // node ID of the LAN
	NIC  string `json:"nic,omitempty"`
	MAC  string `json:"mac,omitempty"`

	// Live, a NIC's: the link as `link … up|down` set it, whether qemu is connected, the impairments each
	// way in `link … set` words, and the switch port's counters (Rx from the VM, Tx to it).
	Up       *bool  `json:"up,omitempty"`
	Carrier  *bool  `json:"carrier,omitempty"`
	Out      string `json:"out,omitempty"`
	In       string `json:"in,omitempty"`
	RxFrames uint64 `json:"rx_frames,omitempty"`
	TxFrames uint64 `json:"tx_frames,omitempty"`
	RxBytes  uint64 `json:"rx_bytes,omitempty"`
	TxBytes  uint64 `json:"tx_bytes,omitempty"`
	Drops    uint64 `json:"drops,omitempty"`
}

// Live is what a running lab's daemon reports, to merge into the lab file's graph.
type Live struct {
	VMs   []api.VMStatus
	Links []api.LinkStatus
}

// NATPortPrefix starts the ID of the edge between a NAT and its LAN (a NIC's edge is VM:NIC, and NIC names are
// the kinds' eth0, Gi1…, so the two cannot meet).
const NATPortPrefix = "nat-port:"

// NodeID names a node of type typ.
func NodeID(typ, name string) string { return typ + ":" + name }

// FromLab builds the graph of a lab file; live, when not nil, adds the running lab's state.
func FromLab(l *lab.Lab, live *Live) Graph {
	g := Graph{Lab: l.Name, Live: live != nil, Nodes: []Node{}, Edges: []Edge{}}
	vms := map[string]api.VMStatus{}
	links := map[string]api.LinkStatus{}
	if live != nil {
		for _, v := range live.VMs {
			vms[v.Name] = v
		}
		for _, ls := range live.Links {
			links[ls.VM+":"+ls.NIC] = ls
		}
	}
	for _, v := range l.VMs {
		n := Node{ID: NodeID(TypeVM, v.Name), Type: TypeVM, Name: v.Name, Kind: v.Kind.Name, Image: v.Image.Name,
			MemoryMiB: v.MemoryMiB, CPUs: v.CPUs}
		if s, ok := vms[v.Name]; ok {
			n.State, n.Accel, n.AccelReason, n.IP = string(s.State), s.Accel, s.AccelReason, s.IP
		} else if live != nil {
			n.State = "unknown"
		}
		g.Nodes = append(g.Nodes, n)
	}
	for _, lan := range l.LANs {
		g.Nodes = append(g.Nodes, Node{ID: NodeID(TypeLAN, lan.Name), Type: TypeLAN, Name: lan.Name, MTU: lan.MTU})
	}
	for _, nat := range l.NATs {
		g.Nodes = append(g.Nodes, Node{ID: NodeID(TypeNAT, nat.Name), Type: TypeNAT, Name: nat.Name,
			Subnet: nat.Subnet.String(), Gateway: nat.Gateway.String()})
		g.Edges = append(g.Edges, Edge{ID: NATPortPrefix + nat.Name, From: NodeID(TypeNAT, nat.Name), To: NodeID(TypeLAN, nat.LAN)})
	}
	for _, v := range l.VMs {
		for _, nic := range v.NICs {
			e := Edge{ID: v.Name + ":" + nic.Name, From: NodeID(TypeVM, v.Name), To: NodeID(TypeLAN, nic.LAN),
				NIC: nic.Name, MAC: nic.MAC.String()}
			if ls, ok := links[e.ID]; ok {
				up, carrier := ls.Up, ls.Carrier
				e.Up, e.Carrier = &up, &carrier
				e.Out, e.In = ls.Out, ls.In
				e.RxFrames, e.TxFrames, e.RxBytes, e.TxBytes = ls.RxFrames, ls.TxFrames, ls.RxBytes, ls.TxBytes
				e.Drops = ls.Drops + ls.DropsLinkDown
			}
			g.Edges = append(g.Edges, e)
		}
	}
	return g
}

// Node returns the node with id, or nil.
func (g *Graph) Node(id string) *Node {
	for i := range g.Nodes {
		if g.Nodes[i].ID == id {
			return &g.Nodes[i]
		}
	}
	return nil
}

// Down tells whether a live edge's link is down (taken down, or its VM's qemu not connected).
func (e Edge) Down() bool {
	return (e.Up != nil && !*e.Up) || (e.Carrier != nil && !*e.Carrier)
}
