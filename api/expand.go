package api

import "strings"

// Expand replaces $(VAR) references in s the way Kubernetes does for
// command, args, env values and subPathExpr: $$ is an escaped $, a
// reference to an unknown variable or an unterminated $( is kept as
// written, and a $ before any other character is kept.
func Expand(s string, lookup func(string) (string, bool)) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	checkpoint := 0
	for cursor := 0; cursor < len(s); cursor++ {
		if s[cursor] != '$' || cursor+1 >= len(s) {
			continue
		}
		b.WriteString(s[checkpoint:cursor])
		read, isVar, advance := readVariable(s[cursor+1:])
		if isVar {
			if v, ok := lookup(read); ok {
				b.WriteString(v)
			} else {
				b.WriteString("$(" + read + ")")
			}
		} else {
			b.WriteString(read)
		}
		cursor += advance
		checkpoint = cursor + 1
	}
	b.WriteString(s[checkpoint:])
	return b.String()
}

// MapLookup is Expand's lookup over a map of variables.
func MapLookup(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

// readVariable reads what follows a '$': the variable name of "(NAME)", or
// the literal text to keep, and how many bytes it consumed.
func readVariable(s string) (string, bool, int) {
	switch s[0] {
	case '$':
		return "$", false, 1
	case '(':
		for i := 1; i < len(s); i++ {
			if s[i] == ')' {
				return s[1:i], true, i + 1
			}
		}
		// Unterminated: the rest of the string is kept as written.
		return "$" + s, false, len(s)
	default:
		return "$" + s[:1], false, 1
	}
}
