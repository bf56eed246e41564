package lab

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/cloonix-go/cloonix/impair"
)

// Fault is a scheduled fault: a link down, an impairment, or a VM paused, for a while, once or every so
// often. The lab file has them as [[fault]] tables; `cloonix-labd fault add` takes the same keys as words.
type Fault struct {
	VM, NIC string        // the target: a NIC (link = "r1:eth1") or a VM (vm = "r1")
	Action  string        // "down" (a link), "impair" (a link, with Impair), "pause" (a VM)
	Impair  string        // the words of an impair fault ("loss=50%", "dir=both delay=200ms")
	At      time.Duration // first time, after the lab is up or the fault is added
	For     time.Duration // how long each time
	Every   time.Duration // 0: once
}

// FaultKeys are the keys of a fault, for messages.
const FaultKeys = "link=VM:NIC or vm=VM, action=down|impair|pause, for=3s, and optionally every=30s, at=10s, impair=WORDS"

// ParseFault reads a fault from its keys (as the lab file's [[fault]] or the words of `fault add` give
// them) and checks it against the lab.
func ParseFault(kv map[string]string, l *Lab) (Fault, error) {
	var f Fault
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := kv[k]
		var err error
		switch k {
		case "link":
			vm, nic, ok := strings.Cut(v, ":")
			if !ok {
				return f, fmt.Errorf("fault link=%s: write it VM:NIC, like link=r1:eth1", v)
			}
			f.VM, f.NIC = vm, nic
		case "vm":
			f.VM = v
		case "action":
			f.Action = v
		case "impair":
			f.Impair = v
		case "at":
			f.At, err = faultDuration(k, v)
		case "for":
			f.For, err = faultDuration(k, v)
		case "every":
			f.Every, err = faultDuration(k, v)
		default:
			return f, fmt.Errorf("fault: unknown key %q; keys: %s", k, FaultKeys)
		}
		if err != nil {
			return f, err
		}
	}
	_, hasLink := kv["link"]
	_, hasVM := kv["vm"]
	switch {
	case hasLink == hasVM:
		return f, errors.New("fault needs one target: link=VM:NIC or vm=VM")
	case f.For <= 0:
		return f, errors.New("fault needs for=DURATION, how long it lasts each time, like for=3s")
	case f.Every > 0 && f.Every <= f.For:
		return f, fmt.Errorf("fault every=%v must be longer than for=%v", f.Every, f.For)
	}
	vm, ok := l.VM(f.VM)
	if !ok {
		return f, fmt.Errorf("fault: no VM named %q", f.VM)
	}
	if hasLink {
		if _, ok := vm.NIC(f.NIC); !ok {
			return f, fmt.Errorf("fault link=%s:%s: %s has no NIC %q", f.VM, f.NIC, f.VM, f.NIC)
		}
	}
	switch {
	case f.Action == "down" && hasLink, f.Action == "pause" && hasVM:
		if f.Impair != "" {
			return f, fmt.Errorf("fault: impair= goes with action=impair, not action=%s", f.Action)
		}
	case f.Action == "impair" && hasLink:
		_, rest, err := impair.SplitDir(strings.Fields(f.Impair))
		if err == nil {
			_, err = impair.Parse(impair.Spec{}, rest)
		}
		if f.Impair == "" {
			err = errors.New(`action=impair needs impair="WORDS", like impair="loss=50%"`)
		}
		if err != nil {
			return f, fmt.Errorf("fault: %w", err)
		}
	case hasLink:
		return f, fmt.Errorf("fault on link %s:%s: action=down or action=impair, not %q", f.VM, f.NIC, f.Action)
	default:
		return f, fmt.Errorf("fault on vm %s: action=pause, not %q", f.VM, f.Action)
	}
	return f, nil
}

func faultDuration(k, v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("fault %s=%s: want a duration like 3s", k, v)
	}
	return d, nil
}

// Target names what the fault acts on: "r1:eth1" or "r1".
func (f Fault) Target() string {
	if f.NIC != "" {
		return f.VM + ":" + f.NIC
	}
	return f.VM
}

// String is the fault in ParseFault's words.
func (f Fault) String() string {
	var w []string
	if f.NIC != "" {
		w = append(w, "link="+f.Target())
	} else {
		w = append(w, "vm="+f.VM)
	}
	w = append(w, "action="+f.Action)
	if f.Impair != "" {
		w = append(w, "impair="+f.Impair)
	}
	w = append(w, "for="+f.For.String())
	if f.Every > 0 {
		w = append(w, "every="+f.Every.String())
	}
	if f.At > 0 {
		w = append(w, "at="+f.At.String())
	}
	return strings.Join(w, " ")
}
