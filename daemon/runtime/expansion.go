package runtime

import "strings"

// expand replaces $(VAR) references in s the way the kubelet does
// (k8s.io/kubernetes third_party/forked/golang/expansion): $$ is an escaped
// $, a reference to an unknown variable or an unterminated $( is kept as
// written, and a $ before any other character is kept.
func expand(s string, lookup func(string) (string, bool)) string {
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

// mappingOf looks a name up in env, a list of NAME=value (last wins).
func mappingOf(env []string) func(string) (string, bool) {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}
