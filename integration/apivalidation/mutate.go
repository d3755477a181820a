package apivalidation

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/go-openapi/jsonpointer"
)

// A mutation changes one field of a document, found by a path of map
// keys and list indexes ("spec.containers.0.ports.0.containerPort"); "@"
// stands for the pod spec (spec for a Pod, spec.template.spec for a Job).
// A mutation whose path is not in the document does not apply.
type mutation struct {
	name string
	path string
	op   op
	// value is what op sets or adds.
	value any
}

type op int

const (
	opSet    op = iota // set the field (the parent must exist)
	opDelete           // remove the field (it must exist)
	opCopy             // append a copy of list item 0 (the list must exist)
	opMerge            // set each key of value in the map (nil removes it)
)

// apply returns the mutated copy of doc, or ok false when the mutation
// does not apply to it.
func (m mutation) apply(doc map[string]any) (map[string]any, bool) {
	kind, _ := doc["kind"].(string)
	path := m.path
	if rest, found := strings.CutPrefix(path, "@"); found {
		switch kind {
		case "Pod":
			path = "spec" + rest
		case "Job":
			path = "spec.template.spec" + rest
		default:
			return nil, false
		}
	}
	out := deepCopy(doc)
	keys := strings.Split(path, ".")
	parent, ok := walk(out, keys[:len(keys)-1])
	if !ok {
		return nil, false
	}
	last := keys[len(keys)-1]
	switch p := parent.(type) {
	case map[string]any:
		_, exists := p[last]
		switch m.op {
		case opSet:
			p[last] = deepCopyValue(m.value)
		case opDelete:
			if !exists {
				return nil, false
			}
			delete(p, last)
		case opCopy:
			list, isList := p[last].([]any)
			if !isList || len(list) == 0 {
				return nil, false
			}
			p[last] = append(list, deepCopyValue(list[0]))
		case opMerge:
			target, isMap := p[last].(map[string]any)
			if !isMap {
				return nil, false
			}
			for k, v := range m.value.(map[string]any) {
				if v == nil {
					delete(target, k)
				} else {
					target[k] = deepCopyValue(v)
				}
			}
		}
		return out, true
	case []any:
		i, err := strconv.Atoi(last)
		if err != nil || i >= len(p) || m.op != opSet {
			return nil, false
		}
		p[i] = deepCopyValue(m.value)
		return out, true
	}
	return nil, false
}

// walk follows keys (map keys and list indexes) from v as the JSON
// pointer (RFC 6901) of those tokens does; every step must exist.
func walk(v any, keys []string) (any, bool) {
	var ptr strings.Builder
	for _, k := range keys {
		ptr.WriteString("/" + jsonpointer.Escape(k))
	}
	p, err := jsonpointer.New(ptr.String())
	if err != nil {
		return nil, false
	}
	got, _, err := p.Get(v)
	return got, err == nil
}

func deepCopy(m map[string]any) map[string]any {
	return deepCopyValue(m).(map[string]any)
}

// deepCopyValue copies a JSON value through encoding, keeping numbers
// exact.
func deepCopyValue(v any) any {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		panic(err)
	}
	return out
}
