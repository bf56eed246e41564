package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// runTable reads the JSON lines of the measuring subcommands on stdin and prints one markdown table:
// per MTU, each tool's throughput runs, its latency percentiles over all samples, and cloonix's ratios
// to gvproxy.
func runTable(args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("table: no arguments expected (it reads JSON lines on stdin), got %q", args)
	}
	res, err := readResults(os.Stdin)
	if err != nil {
		return err
	}
	// Lines of the same tool and MTU (the rounds of one run) are merged: throughput runs appended,
	// latency percentiles taken over every sample.
	byKey := map[string]result{}
	var mtus []int
	for _, r := range res {
		k := fmt.Sprintf("%s/%d", r.Tool, r.MTU)
		old, seen := byKey[k]
		if !seen && r.Tool == "cloonix" {
			mtus = append(mtus, r.MTU)
		}
		if seen {
			r.Gbps = append(old.Gbps, r.Gbps...)
			r.LatUs = append(old.LatUs, r.LatUs...)
			r.Samples += old.Samples
		}
		if len(r.LatUs) > 0 {
			sort.Float64s(r.LatUs)
			r.P50us, r.P99us = percentile(r.LatUs, 50), percentile(r.LatUs, 99)
		}
		byKey[k] = r
	}
	sort.Ints(mtus)
	w := os.Stdout
	fmt.Fprintln(w, "| MTU | tool | dial-in Gbit/s (runs) | median Gbit/s | connect+1B+close p50 µs | p99 µs | samples |")
	fmt.Fprintln(w, "|---:|---|---|---:|---:|---:|---:|")
	for _, mtu := range mtus {
		for _, tool := range []string{"cloonix", "gvproxy"} {
			r, ok := byKey[fmt.Sprintf("%s/%d", tool, mtu)]
			if !ok {
				fmt.Fprintf(w, "| %d | %s | (missing) | | | | |\n", mtu, tool)
				continue
			}
			runs := make([]string, len(r.Gbps))
			for i, g := range r.Gbps {
				runs[i] = fmt.Sprintf("%.2f", g)
			}
			fmt.Fprintf(w, "| %d | %s | %s | %.2f | %.0f | %.0f | %d |\n", mtu, tool, strings.Join(runs, " "), median(r.Gbps), r.P50us, r.P99us, r.Samples)
		}
		c, okc := byKey[fmt.Sprintf("cloonix/%d", mtu)]
		g, okg := byKey[fmt.Sprintf("gvproxy/%d", mtu)]
		if okc && okg && median(g.Gbps) > 0 && c.P50us > 0 {
			fmt.Fprintf(w, "| %d | **cloonix ÷ gvproxy** | | **%.2f×** | **%.2f×** | %.2f× | |\n", mtu, median(c.Gbps)/median(g.Gbps), c.P50us/g.P50us, c.P99us/g.P99us)
		}
	}
	return nil
}

func readResults(r io.Reader) ([]result, error) {
	var out []result
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var res result
		if err := json.Unmarshal([]byte(line), &res); err != nil {
			return nil, fmt.Errorf("table: line %q is not a result: %w", line, err)
		}
		out = append(out, res)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("table: read stdin: %w", err)
	}
	return out, nil
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
