package apivalidation

import (
	"fmt"
	"slices"
	"strings"
)

// cause is one field error of a refusal: its path and type
// (FieldValueRequired, FieldValueInvalid, ...).
type cause struct {
	field, reason string
}

// verdict is an answer to a create: the HTTP code (201 accepted, 400 a
// body that does not decode, 422 invalid) and the field errors.
type verdict struct {
	code    int
	message string
	causes  []cause
}

func (v verdict) accepted() bool { return v.code == 201 }

// fields is the sorted, de-duplicated set of the causes' paths.
func (v verdict) fields() []string {
	var out []string
	for _, c := range v.causes {
		out = append(out, c.field)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (v verdict) String() string {
	if v.accepted() {
		return "201 accepted"
	}
	var cs []string
	for _, c := range v.causes {
		cs = append(cs, c.field+" "+c.reason)
	}
	return fmt.Sprintf("%d {%s} %s", v.code, strings.Join(cs, "; "), abbreviate(v.message, 300))
}

func abbreviate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
