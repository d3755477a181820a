package main

import (
	"bufio"
	"os/exec"
	"strings"
	"testing"
)

// buildTags are those of scripts/ and integration/harness (BuildTags).
const buildTags = "grpcnotrace"

// TestNoMethodCalledByName guards podrund's size and idle memory: once
// anything reachable calls a method by name through reflection
// (reflect.Value.MethodByName, text/template, ...), the linker must keep
// every exported method of every type, and podrund grows by about 8 MB and
// its idle RSS by about 4 MiB. The linker's dependency dump marks such
// functions <ReflectMethod>.
func TestNoMethodCalledByName(t *testing.T) {
	cmd := exec.Command("go", "build", "-tags", buildTags, "-ldflags=-dumpdep", "-o", t.TempDir()+"/podrund", ".")
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%.2000s", err, out)
	}
	var marked []string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(make([]byte, 0, 1<<16), 1<<20)
	for sc.Scan() {
		if from, _, ok := strings.Cut(sc.Text(), " -> "); ok && strings.Contains(from, "<ReflectMethod>") {
			marked = append(marked, from)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(marked) > 0 {
		t.Fatalf("reachable code calls methods by name through reflection, so dead-method elimination is off: %s",
			strings.Join(dedup(marked), "; "))
	}
}

func dedup(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// TestGeneratedOpenAPICodeNotLinked guards podrund's resident pages:
// openapi-gen's code (about 0.8 MiB of machine code with its strings and
// tables) is only for go generate; podrund embeds the definitions it
// builds (daemon/openapi/definitions.json).
func TestGeneratedOpenAPICodeNotLinked(t *testing.T) {
	const generated = "github.com/podrun/podrun/daemon/openapi/internal/generated"
	out, err := exec.Command("go", "list", "-tags", buildTags, "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%.2000s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg == generated {
			t.Fatalf("podrund links %s", generated)
		}
	}
}
