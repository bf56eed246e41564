package labpath

import (
	"errors"
	"strconv"
	"strings"
)

// VsockEntity is the entity that reaches a VM over virtio-vsock, as a NAT's name reaches it over its
// network: `cloonix-proxy LAB vsock VM`. No NAT may take the name.
const VsockEntity = "vsock"

// CaptureWord is the word in the ENTITY place of cloonix-proxy that streams a capture instead:
// `cloonix-proxy LAB capture lan12`. No NAT may take the name either.
const CaptureWord = "capture"

// maxNameLen is the longest name: the longest DNS label.
const maxNameLen = 63

// NameProblem reports why s cannot name a lab, VM, LAN or NAT, or "" when it can. Names are DNS labels in
// lower case (letters, digits, '-', starting with a letter, not ending with '-'), so that DNS, scp's
// host:path syntax, socket names and file names all carry them unchanged.
func NameProblem(s string) string {
	switch {
	case s == "":
		return "is empty"
	case len(s) > maxNameLen:
		return "is " + strconv.Itoa(len(s)) + " characters long; DNS labels hold at most " + strconv.Itoa(maxNameLen)
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
			return "contains " + strconv.QuoteRune(r) + "; use only a-z, 0-9 and '-'"
		}
	}
	return ""
}

// NameFix says how to fix a name that NameProblem refuses: a valid name close to it when there is one.
func NameFix(s string) string {
	if sug := suggestName(s); sug != "" && sug != s {
		return "rename it, for example to " + strconv.Quote(sug)
	}
	return "use lower-case letters, digits and '-', starting with a letter"
}

// CheckName returns nil when s can name a lab, VM, LAN or NAT, else a one-line error naming what (such as
// "lab"), the name, what is wrong and how to fix it.
func CheckName(what, s string) error {
	why := NameProblem(s)
	if why == "" {
		return nil
	}
	return errors.New(what + " name " + strconv.Quote(s) + " " + why + "; " + NameFix(s))
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

// CheckHost returns nil when host can travel as the host of a CONNECT target (cloonix-proxy's HOST, the
// request line, the daemon's parser): not empty, and no space, '/', '\' or control character. It is looser
// than NameProblem on purpose: the daemon resolves what is left (VMOfHost) and answers an unknown VM with
// the lab's VM names.
func CheckHost(host string) error {
	bad := host == ""
	for i := 0; i < len(host) && !bad; i++ {
		c := host[i]
		bad = c <= ' ' || c == 0x7f || c == '/' || c == '\\'
	}
	if bad {
		return errors.New("host " + strconv.Quote(host) + " is not a VM name (empty, or a space, '/', '\\' or control character in it); name a VM, e.g. vm1")
	}
	return nil
}

// VMOfHost returns the VM name a CONNECT host means in the named lab: host in lower case (ssh passes %h as
// typed), without a trailing ".<lab>" (the lab's DNS domain).
func VMOfHost(host, lab string) string {
	return strings.TrimSuffix(strings.ToLower(host), "."+lab)
}
