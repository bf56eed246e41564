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

// tools are the tools of the table, in row order; cloonix is compared with each of the others.
var tools = []string{"cloonix", "gvproxy", "passt"}

// runTable reads the JSON lines of the measuring subcommands on stdin and prints one markdown table:
// per MTU, each tool's throughput runs, its latency percentiles over all samples (connect + 1 byte +
// close, and 1-byte request/response), and cloonix's advantage over each other tool.
func runTable(args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("table: no arguments expected (it reads JSON lines on stdin), got %q", args)
	}
	res, err := readResults(os.Stdin)
	if err != nil {
		return err
	}
	byKey, mtus := mergeRounds(res)
	w := os.Stdout
	fmt.Fprintln(w, "| MTU | tool | dial-in Gbit/s (runs) | median Gbit/s | connect+1B+close p50 µs | p99 µs | 1-byte RR p50 µs | RR p99 µs | samples (CRR / RR) |")
	fmt.Fprintln(w, "|---:|---|---|---:|---:|---:|---:|---:|---:|")
	for _, mtu := range mtus {
		for _, tool := range tools {
			r, ok := byKey[key(tool, mtu)]
			if !ok {
				fmt.Fprintf(w, "| %d | %s | (missing) | | | | | | |\n", mtu, tool)
				continue
			}
			runs := make([]string, len(r.Gbps))
			for i, g := range r.Gbps {
				runs[i] = fmt.Sprintf("%.2f", g)
			}
			fmt.Fprintf(w, "| %d | %s | %s | %.2f | %.0f | %.0f | %.0f | %.0f | %d / %d |\n", mtu, tool, strings.Join(runs, " "),
				median(r.Gbps), r.P50us, r.P99us, r.RRP50us, r.RRP99us, r.Samples, r.RRSamples)
		}
		c, ok := byKey[key("cloonix", mtu)]
		if !ok {
			continue
		}
		for _, other := range tools[1:] {
			if o, ok := byKey[key(other, mtu)]; ok {
				fmt.Fprintf(w, "| %d | **cloonix vs %s** | | **%s** | **%s** | %s | **%s** | %s | |\n", mtu, other,
					ratio(median(c.Gbps), median(o.Gbps)), ratio(o.P50us, c.P50us), ratio(o.P99us, c.P99us),
					ratio(o.RRP50us, c.RRP50us), ratio(o.RRP99us, c.RRP99us))
			}
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "The \"cloonix vs\" rows are cloonix's advantage: its throughput ÷ the other's, and the other's latency ÷ cloonix's (the transaction rate ratio); above 1× cloonix is better.")
	return nil
}

func key(tool string, mtu int) string { return fmt.Sprintf("%s/%d", tool, mtu) }

// ratio formats a ÷ b, or "-" when b is not positive.
func ratio(a, b float64) string {
	if b <= 0 || a <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

// mergeRounds merges the lines of the same tool and MTU (the rounds of one run): throughput runs
// appended, latency percentiles taken over every sample. It returns the merged results by key and the
// MTUs in ascending order.
func mergeRounds(res []result) (map[string]result, []int) {
	byKey := map[string]result{}
	var mtus []int
	seenMTU := map[int]bool{}
	for _, r := range res {
		k := key(r.Tool, r.MTU)
		if !seenMTU[r.MTU] {
			seenMTU[r.MTU] = true
			mtus = append(mtus, r.MTU)
		}
		if old, seen := byKey[k]; seen {
			r.Gbps = append(old.Gbps, r.Gbps...)
			r.LatUs = append(old.LatUs, r.LatUs...)
			r.Samples += old.Samples
			r.RRUs = append(old.RRUs, r.RRUs...)
			r.RRSamples += old.RRSamples
		}
		if len(r.LatUs) > 0 {
			sort.Float64s(r.LatUs)
			r.P50us, r.P99us = percentile(r.LatUs, 50), percentile(r.LatUs, 99)
		}
		if len(r.RRUs) > 0 {
			sort.Float64s(r.RRUs)
			r.RRP50us, r.RRP99us = percentile(r.RRUs, 50), percentile(r.RRUs, 99)
		}
		byKey[k] = r
	}
	sort.Ints(mtus)
	return byKey, mtus
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
