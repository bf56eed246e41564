// Package topology is a lab as a graph: its VMs, LANs and NATs as nodes and its NICs as edges, built from
// the lab file alone or merged with what the running daemon reports (VM states and accelerators, DHCP
// addresses, link states, impairments and switch counters). It renders the graph as Graphviz DOT, as a
// Mermaid flowchart and as JSON; `cloonix-labd graph` prints them and the web view draws the JSON.
package topology
