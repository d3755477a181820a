package api

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// PodWarnings lists what podrun accepts in a pod spec but cannot run the
// way the kubelet would, each naming its field. The API sends them as
// Warning headers, as the Kubernetes API server sends its own warnings,
// and podctl prints them: the pod is admitted (the same YAML must run on
// a cluster) and the user knows where the one node differs.
func PodWarnings(spec *corev1.PodSpec, path *field.Path) []string {
	var out []string
	check := func(cs []corev1.Container, p *field.Path) {
		for i := range cs {
			c := &cs[i]
			if c.Stdin && !c.TTY {
				out = append(out, fmt.Sprintf("%s: without tty: true podrun cannot keep a container's stdin open "+
					"(containerd's shim gives a process logged through a binary no stdin), so reads see end of file at once "+
					"where under the kubelet they would wait; add tty: true, or do not read stdin",
					p.Index(i).Child("stdin")))
			}
		}
	}
	check(spec.InitContainers, path.Child("initContainers"))
	check(spec.Containers, path.Child("containers"))
	return out
}

// WarningHeader formats a warning as the value of an HTTP Warning header
// (RFC 7234 warn-code 299, "miscellaneous persistent warning", with no
// agent), as the Kubernetes API server does.
func WarningHeader(text string) string {
	return "299 - " + strconv.Quote(text)
}

// ParseWarningHeader returns the text of a Warning header value written by
// WarningHeader (or by a Kubernetes API server); ok is false for any other
// shape.
func ParseWarningHeader(value string) (text string, ok bool) {
	rest, found := strings.CutPrefix(strings.TrimSpace(value), "299 - ")
	if !found {
		return "", false
	}
	text, err := strconv.Unquote(rest)
	if err != nil {
		return "", false
	}
	return text, true
}

// Bounds of the warnings one answer carries, the API server's: past
// warningTotalRunes in all, every warning is cut to warningItemRunes and
// none is added once the cut ones fill the total again.
const (
	warningTotalRunes = 4 * 1024
	warningItemRunes  = 256
)

// BoundWarnings returns texts without repeats and within the API server's
// bounds, so that a body with thousands of unknown fields (each a
// warning under fieldValidation=Warn) cannot make an answer's headers
// unbounded.
func BoundWarnings(texts []string) []string {
	seen := map[string]bool{}
	var unique []string
	total := 0
	for _, t := range texts {
		if t != "" && !seen[t] {
			seen[t] = true
			unique = append(unique, t)
			total += utf8.RuneCountInString(t)
		}
	}
	if total <= warningTotalRunes {
		return unique
	}
	var out []string
	written := 0
	for _, t := range unique {
		if written >= warningTotalRunes {
			break
		}
		if utf8.RuneCountInString(t) > warningItemRunes {
			t = string([]rune(t)[:warningItemRunes])
		}
		out = append(out, t)
		written += utf8.RuneCountInString(t)
	}
	return out
}
