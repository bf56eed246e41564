package main

import (
	"bufio"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// A hint is a command line the project prints or documents as advice: "cloonix-labd down --lab %s".
type hint struct {
	where string // file:line
	text  string // from "cloonix-labd " on, to the end of the line
}

// hintStart finds "cloonix-labd " followed by something command-like: a word, a flag or a fmt verb.
var hintStart = regexp.MustCompile(`cloonix-labd (?:[a-z][a-z-]*|-{1,2}[a-z]|%[sqv])`)

// notHints are the few texts that name cloonix-labd before a word without being a command line. Each entry
// is matched at the occurrence of "cloonix-labd" it contains.
var notHints = []struct{ text, why string }{
	{"cloonix-labd: ", "main's prefix of every error message"},
	{"find cloonix-labd itself", "names the running executable"},
	{"another cloonix-labd holds", "names the process that holds the lab's lock"},
	{"cloonix-labd %s: %w", "the demo driver echoes the command it ran when that command failed"},
	{"cloonix-labd serve (package labd)", "a process in ARCHITECTURE.md's diagram, not a command to type"},
}

// excluded tells whether the occurrence of "cloonix-labd" at s[i:] is one of notHints.
func excluded(s string, i int) bool {
	for _, n := range notHints {
		k := strings.Index(n.text, "cloonix-labd")
		if i >= k && strings.HasPrefix(s[i-k:], n.text) {
			return true
		}
	}
	return false
}

// hintsIn returns the hints in s, a text that starts at line of file; every occurrence counts.
func hintsIn(file string, line int, s string, multiline bool) []hint {
	var out []hint
	for _, m := range hintStart.FindAllStringIndex(s, -1) {
		i := m[0]
		if i > 0 && strings.ContainsAny(s[i-1:i], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") {
			continue // part of a longer name
		}
		if excluded(s, i) {
			continue
		}
		l := line
		if multiline {
			l += strings.Count(s[:i], "\n")
		}
		text := s[i:]
		if j := strings.IndexByte(text, '\n'); j >= 0 {
			text = text[:j]
		}
		out = append(out, hint{where: file + ":" + strconv.Itoa(l), text: text})
	}
	return out
}

// moduleRoot is the directory of go.mod above the test's directory.
func moduleRoot(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// collectHints gathers every hint of the module: string literals of non-test Go files (a concatenation counts
// as one string, its non-literal parts as %v), command lines in Markdown (code lines that start with
// cloonix-labd, and `cloonix-labd …` spans) and lines of the example TOML files (the demos print their next
// text).
func collectHints(t *testing.T, root string) []hint {
	var out []hint
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			if p != root && (d.Name() == "testdata" || d.Name() == "vendor" || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go"):
			hs, err := goHints(p, rel)
			out = append(out, hs...)
			return err
		case strings.HasSuffix(p, ".md"):
			hs, err := markdownHints(p, rel)
			out = append(out, hs...)
			return err
		case strings.HasSuffix(p, ".toml") && strings.HasPrefix(rel, "examples"+string(filepath.Separator)):
			data, err := os.ReadFile(p)
			out = append(out, hintsIn(rel, 1, string(data), true)...)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func goHints(path, rel string) ([]hint, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, 0)
	if err != nil {
		return nil, err
	}
	var out []hint
	var inspect func(ast.Node) bool
	inspect = func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.BinaryExpr:
			if n.Op != token.ADD {
				return true
			}
			var parts []ast.Expr
			var flatten func(ast.Expr)
			flatten = func(e ast.Expr) {
				if b, ok := e.(*ast.BinaryExpr); ok && b.Op == token.ADD {
					flatten(b.X)
					flatten(b.Y)
					return
				}
				parts = append(parts, e)
			}
			flatten(n)
			var b strings.Builder
			lits := 0
			for _, p := range parts {
				if bl, ok := p.(*ast.BasicLit); ok && bl.Kind == token.STRING {
					s, _ := strconv.Unquote(bl.Value)
					b.WriteString(s)
					lits++
				} else {
					b.WriteString("%v")
					ast.Inspect(p, inspect)
				}
			}
			if lits == 0 {
				return true
			}
			out = append(out, hintsIn(rel, fset.Position(n.Pos()).Line, b.String(), false)...)
			return false
		case *ast.BasicLit:
			if n.Kind == token.STRING {
				s, err := strconv.Unquote(n.Value)
				if err == nil {
					out = append(out, hintsIn(rel, fset.Position(n.Pos()).Line, s, strings.HasPrefix(n.Value, "`"))...)
				}
			}
		}
		return true
	}
	ast.Inspect(f, inspect)
	return out, nil
}

// codeSpan is an inline Markdown code span holding a command line.
var codeSpan = regexp.MustCompile("`cloonix-labd [^`]*`")

func markdownHints(path, rel string) ([]hint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []hint
	fence := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fence = !fence
			continue
		}
		code := fence || strings.HasPrefix(line, "    ") || strings.HasPrefix(line, "\t")
		if trimmed := strings.TrimSpace(line); code && strings.HasPrefix(trimmed, "cloonix-labd ") {
			out = append(out, hintsIn(rel, n, trimmed, false)...)
		} else if i := strings.Index(line, "$(cloonix-labd "); code && i >= 0 {
			out = append(out, hintsIn(rel, n, line[i+2:], false)...)
		}
		for _, span := range codeSpan.FindAllString(line, -1) {
			out = append(out, hintsIn(rel, n, span[1:], false)...)
		}
	}
	return out, sc.Err()
}

// hintEnd marks where a command line ends in the text that follows it.
var hintEnd = []string{"\n", ";", "`", "\"", "'", ")", " (", ",", "  ", "\t", " #", " |", "&&", ": ", ". ",
	" then ", " and ", " or ", " to "}

var (
	fmtVerb     = regexp.MustCompile(`%[sqvd]`)
	placeholder = regexp.MustCompile(`\{[a-z_]+\}`)
	capitals    = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
)

// hintArgv turns a hint into the arguments after the program name: it cuts the text at the end of the
// command, fills fmt verbs, {placeholders} and WORDS IN CAPITALS with sample values, opens optional
// [brackets], takes the first of a|b, and drops --help (the command itself must then be reached).
func hintArgv(text string) []string {
	text = strings.TrimPrefix(text, "cloonix-labd ")
	for _, end := range hintEnd {
		if i := strings.Index(text, end); i >= 0 {
			text = text[:i]
		}
	}
	text = strings.TrimRight(text, ".: ")
	var argv []string
	for i, tok := range strings.Fields(text) {
		if i == 0 && fmtVerb.MatchString(tok) && len(tok) == 2 {
			tok = "down" // a verb where the command's name goes stands for a command
		}
		tok = fmtVerb.ReplaceAllStringFunc(tok, func(v string) string {
			if v == "%d" {
				return "1"
			}
			return "x"
		})
		tok = placeholder.ReplaceAllString(tok, "x")
		tok = strings.Trim(tok, "[]")
		if j := strings.IndexByte(tok, '|'); j > 0 {
			tok = tok[:j]
		}
		if capitals.MatchString(tok) {
			tok = strings.ToLower(tok)
		}
		if tok == "" || tok == "--help" || tok == "-h" {
			continue
		}
		argv = append(argv, tok)
	}
	return argv
}

// checkHint runs the hint through the real command-line parser in a dry run.
func checkHint(text string) (argv []string, reached string, err error) {
	argv = hintArgv(text)
	reached, err = dryRun(argv, nil)
	return argv, reached, err
}

// TestHintsWork: every command line the tool prints as advice, and every one the documentation shows, parses
// with the real CLI and reaches a command.
func TestHintsWork(t *testing.T) {
	hints := collectHints(t, moduleRoot(t))
	if len(hints) < 40 {
		t.Fatalf("only %d hints found; the collector is broken", len(hints))
	}
	for _, h := range hints {
		argv, reached, err := checkHint(h.text)
		if err != nil {
			t.Errorf("%s: hint %q does not work: argv %q: %v", h.where, h.text, argv, err)
		} else if testing.Verbose() {
			t.Logf("%s: %q → %s", h.where, argv, reached)
		}
	}
}

// TestCheckHintCatchesBadHints: the hint test can fail.
func TestCheckHintCatchesBadHints(t *testing.T) {
	for _, bad := range []string{
		"cloonix-labd dwn --lab x",              // unknown command
		"cloonix-labd down --bogus",             // unknown flag
		"cloonix-labd console r1 --bogus",       // unknown flag after a positional argument
		"cloonix-labd image bild tiny",          // unknown sub-command
		"cloonix-labd image",                    // a parent command alone only shows help
		"cloonix-labd up",                       // missing LABFILE
		"cloonix-labd status now",               // status takes no argument
		"cloonix-labd link r1 eth1",             // missing up|down
		"cloonix-labd inventory --output",       // flag without its value
		"cloonix-labd config push --replace r1", // missing FILE
	} {
		if argv, reached, err := checkHint(bad); err == nil {
			t.Errorf("bad hint %q passed (argv %q reached %s)", bad, argv, reached)
		}
	}
	for _, good := range []string{
		"cloonix-labd down --lab x",
		"cloonix-labd --lab %s down --purge",
		"cloonix-labd %s --help",
		"cloonix-labd config save VM [FILE], or config save --all DIR",
		"cloonix-labd demo [--keep] [--image PATH] NAME",
		"cloonix-labd link VM NIC up|down (for example: link r1 eth1 down)",
		"cloonix-labd up LABFILE; then ssh",
		"cloonix-labd console r2          the serial console (Ctrl-] leaves)",
	} {
		if argv, _, err := checkHint(good); err != nil {
			t.Errorf("good hint %q failed: argv %q: %v", good, argv, err)
		}
	}
	hs := hintsIn("x.go", 1, "start with: cloonix-labd up LABFILE; then cloonix-labd status. find cloonix-labd itself", false)
	if len(hs) != 2 || hs[0].text != "cloonix-labd up LABFILE; then cloonix-labd status. find cloonix-labd itself" {
		t.Errorf("hintsIn: %q", hs)
	}
}
