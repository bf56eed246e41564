package lab

import (
	"fmt"
	"strings"
)

// maxNameLen is the longest DNS label.
const maxNameLen = 63

// checkName reports why s cannot name a lab, VM, LAN or NAT, or "" when it can. Names are DNS labels in
// lower case (letters, digits, '-', starting with a letter, not ending with '-'), so that DNS, scp's
// host:path syntax and file names all carry them unchanged.
func checkName(s string) string {
	switch {
	case s == "":
		return "is empty"
	case len(s) > maxNameLen:
		return fmt.Sprintf("is %d characters long; DNS labels hold at most %d", len(s), maxNameLen)
	case strings.ContainsRune(s, ':'):
		return "contains ':', which scp reads as host:path"
	case strings.ContainsRune(s, '/'):
		return "contains '/', which cannot be part of a host or file name"
	case strings.ContainsAny(s, " \t"):
		return "contains a space, which ssh, scp and DNS cannot carry"
	case strings.ToLower(s) != s:
		return "contains upper case; DNS is case-insensitive, so names are lower case"
	case s[0] < 'a' || s[0] > 'z':
		return "must start with a letter a-z"
	case s[len(s)-1] == '-':
		return "ends with '-', which DNS does not allow"
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return fmt.Sprintf("contains %q; use only a-z, 0-9 and '-'", r)
		}
	}
	return ""
}

// suggestName turns s into a valid name, or "" when nothing usable is left.
func suggestName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else if !strings.HasSuffix(b.String(), "-") {
			b.WriteByte('-')
		}
	}
	out := strings.TrimLeft(b.String(), "-0123456789")
	if len(out) > maxNameLen {
		out = out[:maxNameLen]
	}
	return strings.TrimRight(out, "-")
}

// closest returns the candidate nearest to s by edit distance, if it is near enough to be a typo.
func closest(s string, candidates []string) string {
	best, bestD := "", len(s)/2+2
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(s), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
