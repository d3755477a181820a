package docs

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// ruleRef matches a rule number as code and tests cite it: R17, R86a,
// R-V2. A leading letter or digit (e.g. "CR2", "R2D2"-like words) is not a
// citation.
var ruleRef = regexp.MustCompile(`(?:^|[^A-Za-z0-9_-])(R(?:-V)?[0-9]+[a-z]?)\b`)

// ruleDef matches a rule's definition in semantics.md: "**R17.**".
var ruleDef = regexp.MustCompile(`\*\*(R(?:-V)?[0-9]+[a-z]?)\.\*\*`)

// TestRuleCitationsResolve: every rule number cited in a Go file of the
// repository is defined in semantics.md, so a reader can follow each one
// without documents from outside the repository.
func TestRuleCitationsResolve(t *testing.T) {
	sem, err := os.ReadFile("semantics.md")
	if err != nil {
		t.Fatal(err)
	}
	defined := map[string]bool{}
	for _, m := range ruleDef.FindAllStringSubmatch(string(sem), -1) {
		defined[m[1]] = true
	}
	if len(defined) < 99 {
		t.Fatalf("semantics.md defines only %d rules", len(defined))
	}
	missing := map[string][]string{}
	isGo := func(p string) bool { return strings.HasSuffix(p, ".go") }
	eachFile(t, isGo, func(p string, b []byte) {
		for _, m := range ruleRef.FindAllStringSubmatch(string(b), -1) {
			if !defined[m[1]] {
				missing[m[1]] = append(missing[m[1]], p)
			}
		}
	})
	var names []string
	for r := range missing {
		names = append(names, r)
	}
	sort.Strings(names)
	for _, r := range names {
		t.Errorf("%s is cited in %s but not defined in semantics.md", r, strings.Join(missing[r], ", "))
	}
}

// TestNoOutsideDocs: code and the README cite the documents in this
// repository, never the reference documents the project started from.
func TestNoOutsideDocs(t *testing.T) {
	outside := regexp.MustCompile(`shared/docs|pod-semantics|design\.md`)
	self := filepath.Join("..", "docs", "citations_test.go")
	want := func(p string) bool {
		return p != self && (strings.HasSuffix(p, ".go") || filepath.Base(p) == "README.md")
	}
	eachFile(t, want, func(p string, b []byte) {
		if loc := outside.FindIndex(b); loc != nil {
			t.Errorf("%s cites %q, a document outside the repository", p, b[loc[0]:loc[1]])
		}
	})
}

// eachFile calls fn with the path and contents of every file of the
// repository (hidden directories left out) for which want says yes.
func eachFile(t *testing.T, want func(path string) bool, fn func(path string, b []byte)) {
	t.Helper()
	err := filepath.WalkDir("..", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") && p != ".." {
				return filepath.SkipDir
			}
			return nil
		}
		if !want(p) {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fn(p, b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
