package tomlfile

import (
	"sort"
	"strconv"
	"strings"
)

// BurntSushi/toml does not expose where keys are, so positions come from this small scan of the source.
// It runs only on input the TOML parser accepted, but it must never panic or loop on anything.

// positions maps a resolved key path (array elements by index, see pathKey) to where the key, and its
// value, start. Table headers count as the key of their table.
type positions struct {
	key map[string]Pos
	val map[string]Pos
}

// pathKey joins a path into a map key. "\x1f" cannot occur in a key a validator cares about.
func pathKey(p []string) string { return strings.Join(p, "\x1f") }

type scanner struct {
	src        string
	i          int
	lineStarts []int
	arrays     map[string]int // resolved path of an array of tables → index of its last element
	out        positions
}

func scanPositions(src string) positions {
	s := &scanner{
		src:    src,
		arrays: map[string]int{},
		out:    positions{key: map[string]Pos{}, val: map[string]Pos{}},
	}
	s.lineStarts = append(s.lineStarts, 0)
	for i := 0; i < len(src); i++ {
		if src[i] == '\n' {
			s.lineStarts = append(s.lineStarts, i+1)
		}
	}
	s.top()
	return s.out
}

func (s *scanner) posAt(off int) Pos {
	line := sort.Search(len(s.lineStarts), func(i int) bool { return s.lineStarts[i] > off })
	return Pos{Line: line, Col: off - s.lineStarts[line-1] + 1}
}

func (s *scanner) eof() bool { return s.i >= len(s.src) }

func (s *scanner) peek() byte {
	if s.eof() {
		return 0
	}
	return s.src[s.i]
}

func (s *scanner) skipSpace() {
	for !s.eof() && (s.peek() == ' ' || s.peek() == '\t') {
		s.i++
	}
}

// skipBlank skips whitespace, newlines and comments (inside arrays and inline tables).
func (s *scanner) skipBlank() {
	for !s.eof() {
		switch s.peek() {
		case ' ', '\t', '\r', '\n':
			s.i++
		case '#':
			s.skipLine()
		default:
			return
		}
	}
}

func (s *scanner) skipLine() {
	for !s.eof() && s.peek() != '\n' {
		s.i++
	}
}

func (s *scanner) top() {
	var ctx []string
	for !s.eof() {
		s.skipBlank()
		if s.eof() {
			return
		}
		start := s.i
		switch c := s.peek(); {
		case c == '[':
			ctx = s.header()
		case isBare(c) || c == '"' || c == '\'':
			keys := s.key()
			path := Child(ctx, keys...)
			s.out.key[pathKey(path)] = s.posAt(start)
			s.skipSpace()
			if s.peek() == '=' {
				s.i++
				s.skipSpace()
				s.value(path)
			}
			s.skipLine()
		default:
			s.skipLine()
		}
		if s.i == start {
			s.i++
		}
	}
}

// header reads "[a.b]" or "[[a.b]]" and returns the resolved table path.
func (s *scanner) header() []string {
	start := s.i
	s.i++
	array := s.peek() == '['
	if array {
		s.i++
	}
	s.skipSpace()
	keys := s.key()
	s.skipLine()
	var resolved []string
	for n, k := range keys {
		resolved = append(resolved, k)
		rk := pathKey(resolved)
		last := n == len(keys)-1
		if last && array {
			idx, seen := s.arrays[rk]
			if seen {
				idx++
			}
			s.arrays[rk] = idx
			resolved = append(resolved, strconv.Itoa(idx))
		} else if idx, ok := s.arrays[rk]; ok {
			resolved = append(resolved, strconv.Itoa(idx))
		}
	}
	s.out.key[pathKey(resolved)] = s.posAt(start)
	return resolved
}

func isBare(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// key reads a possibly dotted, possibly quoted key.
func (s *scanner) key() []string {
	var keys []string
	for !s.eof() {
		s.skipSpace()
		switch c := s.peek(); {
		case c == '"':
			start := s.i
			s.basicString()
			raw := s.src[start:s.i]
			if u, err := strconv.Unquote(raw); err == nil {
				keys = append(keys, u)
			} else {
				keys = append(keys, strings.Trim(raw, `"`))
			}
		case c == '\'':
			start := s.i
			s.literalString()
			keys = append(keys, strings.Trim(s.src[start:s.i], "'"))
		case isBare(c):
			start := s.i
			for !s.eof() && isBare(s.peek()) {
				s.i++
			}
			keys = append(keys, s.src[start:s.i])
		default:
			return keys
		}
		s.skipSpace()
		if s.peek() != '.' {
			return keys
		}
		s.i++
	}
	return keys
}

// value skips one value, recording the positions of array elements and inline-table keys under path.
func (s *scanner) value(path []string) {
	s.out.val[pathKey(path)] = s.posAt(s.i)
	switch s.peek() {
	case '"':
		s.basicString()
	case '\'':
		s.literalString()
	case '[':
		s.i++
		for n := 0; !s.eof(); n++ {
			s.skipBlank()
			if s.eof() || s.peek() == ']' {
				s.i++
				return
			}
			before := s.i
			s.value(Child(path, strconv.Itoa(n)))
			s.skipBlank()
			if s.peek() == ',' {
				s.i++
			}
			if s.i == before {
				s.i++
			}
		}
	case '{':
		s.i++
		for !s.eof() {
			s.skipBlank()
			if s.eof() || s.peek() == '}' {
				s.i++
				return
			}
			before := s.i
			keys := s.key()
			kp := Child(path, keys...)
			s.out.key[pathKey(kp)] = s.posAt(before)
			s.skipSpace()
			if s.peek() == '=' {
				s.i++
				s.skipSpace()
				s.value(kp)
			}
			s.skipBlank()
			if s.peek() == ',' {
				s.i++
			}
			if s.i == before {
				s.i++
			}
		}
	default:
		for !s.eof() && !strings.ContainsRune(",]}\n#", rune(s.peek())) {
			s.i++
		}
	}
}

func (s *scanner) basicString() {
	defer s.clamp()
	if strings.HasPrefix(s.src[s.i:], `"""`) {
		s.i += 3
		for !s.eof() {
			if s.peek() == '\\' {
				s.i += 2
				continue
			}
			if strings.HasPrefix(s.src[s.i:], `"""`) {
				s.i += 3
				for s.peek() == '"' { // up to two quotes may end the content
					s.i++
				}
				return
			}
			s.i++
		}
		return
	}
	s.i++
	for !s.eof() && s.peek() != '\n' {
		switch s.peek() {
		case '\\':
			s.i += 2
			continue
		case '"':
			s.i++
			return
		}
		s.i++
	}
}

// clamp keeps i within the source after a skip of an escape at its very end.
func (s *scanner) clamp() {
	if s.i > len(s.src) {
		s.i = len(s.src)
	}
}

func (s *scanner) literalString() {
	if strings.HasPrefix(s.src[s.i:], "'''") {
		s.i += 3
		if end := strings.Index(s.src[s.i:], "'''"); end >= 0 {
			s.i += end + 3
			for s.peek() == '\'' {
				s.i++
			}
		} else {
			s.i = len(s.src)
		}
		return
	}
	s.i++
	for !s.eof() && s.peek() != '\n' {
		if s.peek() == '\'' {
			s.i++
			return
		}
		s.i++
	}
}
