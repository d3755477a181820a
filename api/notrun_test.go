package api

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/sets"
)

// README.md's "What podrun does not run" lists exactly the fields of the
// NotRun table: a field added to one and not the other fails here.
func TestReadmeListsNotRun(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, found := strings.Cut(string(data), "### What podrun does not run\n")
	if !found {
		t.Fatal(`README.md has no "### What podrun does not run" section`)
	}
	section, _, _ = strings.Cut(section, "\n#")
	listed := sets.New[string]()
	for _, m := range regexp.MustCompile("`([a-zA-Z]+(\\[\\*\\])?(\\.[a-zA-Z]+(\\[\\*\\])?)*)`").FindAllStringSubmatch(section, -1) {
		if strings.Contains(m[1], "[*]") || isNotRunPath(m[1]) {
			listed.Insert(m[1])
		}
	}
	table := sets.New[string]()
	for _, f := range NotRun {
		table.Insert(f.Path)
	}
	if missing := sets.List(table.Difference(listed)); len(missing) > 0 {
		t.Errorf("README.md does not list: %v", missing)
	}
	if extra := sets.List(listed.Difference(table)); len(extra) > 0 {
		t.Errorf("README.md lists fields the table lacks: %v", extra)
	}
}

// NotRunReason finds a field of a Pod and of a Job's template, with any
// index, at or below a table path, and nothing else.
func TestNotRunReason(t *testing.T) {
	for path, want := range map[string]bool{
		"spec.volumes[0].nfs":                                      true,
		"spec.template.spec.volumes[12].nfs.server":                true,
		"spec.containers[1].resources.claims[0]":                   true,
		"spec.initContainers[0].env[3].valueFrom.fileKeyRef":       true,
		"spec.schedulingGates":                                     true,
		"spec.volumes[0].emptyDir":                                 false,
		"spec.volumes[0].nfsx":                                     false,
		"spec.containers[0].resources.limits":                      false,
		"metadata.volumes[0].nfs":                                  false,
		"spec.template.metadata.labels":                            false,
		"spec.volumes[0].projected.sources[1].serviceAccountToken": true,
	} {
		if _, got := NotRunReason(path); got != want {
			t.Errorf("NotRunReason(%q) = %v, want %v", path, got, want)
		}
	}
}
