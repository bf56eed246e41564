// Package shellquote quotes words for a POSIX shell, as ssh hands a command line to the remote user's shell:
// a word of safe characters stays as it is, anything else goes in single quotes. Standard library only.
package shellquote

import "strings"

// safe are the characters a word may hold and stay unquoted.
const safe = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:@,+%"

// Quote returns s as one word for a POSIX shell.
func Quote(s string) string {
	if s != "" && strings.Trim(s, safe) == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
