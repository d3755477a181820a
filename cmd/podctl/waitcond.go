package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// waitCondition is a parsed --for.
type waitCondition struct {
	// forDelete: wait until the object is gone.
	forDelete bool
	// met evaluates the condition on an object decoded into generic JSON.
	met func(obj map[string]any) bool
}

// parseFor reads --for=delete, --for=condition=NAME[=VALUE] and
// --for=jsonpath={PATH}[=VALUE], as kubectl wait does.
func parseFor(s string) (waitCondition, error) {
	switch {
	case strings.EqualFold(s, "delete"):
		return waitCondition{forDelete: true}, nil
	case strings.HasPrefix(s, "condition="):
		name, want, ok := strings.Cut(strings.TrimPrefix(s, "condition="), "=")
		if !ok {
			want = "True"
		}
		if name == "" {
			return waitCondition{}, fmt.Errorf("--for=%s names no condition", s)
		}
		return waitCondition{met: func(obj map[string]any) bool { return hasCondition(obj, name, want) }}, nil
	case strings.HasPrefix(s, "jsonpath="):
		expr := strings.TrimPrefix(s, "jsonpath=")
		path, want, hasValue, err := splitJSONPath(expr)
		if err != nil {
			return waitCondition{}, err
		}
		return waitCondition{met: func(obj map[string]any) bool {
			v, found := lookupPath(obj, path)
			if !found {
				return false
			}
			return !hasValue || scalarString(v) == want
		}}, nil
	}
	return waitCondition{}, fmt.Errorf("unrecognized condition: %q (use delete, condition=NAME[=VALUE] or jsonpath={PATH}[=VALUE])", s)
}

func hasCondition(obj map[string]any, name, want string) bool {
	status, _ := obj["status"].(map[string]any)
	conds, _ := status["conditions"].([]any)
	for _, c := range conds {
		m, _ := c.(map[string]any)
		t, _ := m["type"].(string)
		st, _ := m["status"].(string)
		if strings.EqualFold(t, name) {
			return strings.EqualFold(st, want)
		}
	}
	return false
}

// splitJSONPath splits "{.status.phase}=Succeeded" into the path's
// segments and the wanted value.
func splitJSONPath(expr string) (path []string, want string, hasValue bool, err error) {
	end := strings.Index(expr, "}")
	if !strings.HasPrefix(expr, "{") || end < 0 {
		return nil, "", false, fmt.Errorf("jsonpath %q must look like {.status.phase}=Succeeded", expr)
	}
	inner := strings.TrimPrefix(expr[1:end], ".")
	rest := expr[end+1:]
	if rest != "" {
		if !strings.HasPrefix(rest, "=") {
			return nil, "", false, fmt.Errorf("jsonpath %q: expected = after the path", expr)
		}
		want, hasValue = rest[1:], true
	}
	for _, seg := range strings.Split(inner, ".") {
		// "containerStatuses[0]" becomes "containerStatuses", "0".
		for seg != "" {
			open := strings.Index(seg, "[")
			if open < 0 {
				path = append(path, seg)
				break
			}
			if open > 0 {
				path = append(path, seg[:open])
			}
			close := strings.Index(seg, "]")
			if close < open {
				return nil, "", false, fmt.Errorf("jsonpath %q: unbalanced [", expr)
			}
			path = append(path, seg[open+1:close])
			seg = seg[close+1:]
		}
	}
	if len(path) == 0 {
		return nil, "", false, fmt.Errorf("jsonpath %q names no field", expr)
	}
	return path, want, hasValue, nil
}

func lookupPath(v any, path []string) (any, bool) {
	for _, seg := range path {
		switch cur := v.(type) {
		case map[string]any:
			next, ok := cur[seg]
			if !ok {
				return nil, false
			}
			v = next
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(cur) {
				return nil, false
			}
			v = cur[i]
		default:
			return nil, false
		}
	}
	return v, true
}

func scalarString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}
