package tomlfile

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one thing wrong with a file, at the position of the offending key or value.
type Problem struct {
	File string // the file as named to Decode
	Line int    // 1-based
	Col  int    // 1-based, in bytes
	Msg  string // what is wrong
	Fix  string // how to fix it
}

// String formats the problem as "FILE:LINE:COL: what is wrong; how to fix it" (without "; …" when there
// is no fix).
func (p Problem) String() string {
	s := fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Col, p.Msg)
	if p.Fix != "" {
		s += "; " + p.Fix
	}
	return s
}

// ValidationError holds every problem found in a file, in file order.
type ValidationError struct {
	Problems []Problem
}

// Error returns one line per problem.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// sortProblems puts ps in file order; problems at the same position keep the order they were found in.
func sortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Line != ps[j].Line {
			return ps[i].Line < ps[j].Line
		}
		return ps[i].Col < ps[j].Col
	})
}
