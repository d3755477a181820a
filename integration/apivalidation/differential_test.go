package apivalidation

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpusDirs are the documents every mutation is applied to: the ones
// written for this test, podrun's seed examples, and any directory
// PODRUN_APIVALIDATION_CORPUS names (e.g. a checkout of Kubernetes'
// website examples).
func corpusDirs(t *testing.T) []string {
	dirs := []string{"testdata/corpus", "../../../shared/seed-examples"}
	if extra := os.Getenv("PODRUN_APIVALIDATION_CORPUS"); extra != "" {
		dirs = append(dirs, filepath.SplitList(extra)...)
	}
	for _, d := range dirs {
		if _, err := os.Stat(d); err != nil {
			t.Fatalf("corpus directory: %v", err)
		}
	}
	return dirs
}

// tally counts the cases by outcome.
type tally struct {
	documents, cases, agreed, notRun, kubeFailed int
	disagreed, kubeFailures                      []string
}

// TestDifferential runs every document of the corpus and every mutation
// of each through the API server's code and podrun's and fails on any
// case where the verdicts differ, other than a field podrun does not run.
func TestDifferential(t *testing.T) {
	docs, err := loadCorpus(corpusDirs(t)...)
	if err != nil {
		t.Fatal(err)
	}
	var n tally
	n.documents = len(docs)
	ms := mutations()
	for _, d := range docs {
		n.compare(d.source, d.tree)
		for _, m := range ms {
			if mutated, ok := m.apply(d.tree); ok {
				n.compare(d.source+" "+m.name, mutated)
			}
		}
	}
	t.Logf("documents %d, cases %d, agreed %d, not run by podrun %d, API server failed %d, disagreed %d",
		n.documents, n.cases, n.agreed, n.notRun, n.kubeFailed, len(n.disagreed))
	for _, f := range n.kubeFailures {
		t.Log("API server failed: ", abbreviate(f, 400))
	}
	if out := os.Getenv("PODRUN_APIVALIDATION_REPORT"); out != "" {
		_ = os.WriteFile(out, []byte(strings.Join(n.disagreed, "\n")), 0o644)
	}
	for i, d := range n.disagreed {
		if i == 30 {
			t.Errorf("... and %d more", len(n.disagreed)-i)
			break
		}
		t.Error(d)
	}
}

func (n *tally) compare(name string, tree map[string]any) {
	doc, err := json.Marshal(tree)
	if err != nil {
		panic(err)
	}
	n.cases++
	kube, podrun := kubeVerdict(doc), podrunVerdict(doc)
	switch {
	case agree(kube, podrun):
		n.agreed++
	case notRun(kube, podrun):
		n.notRun++
	case kube.code == 500 && podrun.code >= 400 && podrun.code < 500:
		// The API server's own code failed (a panic) on a body podrun
		// refuses with a reason: nothing to agree with.
		n.kubeFailed++
		n.kubeFailures = append(n.kubeFailures, fmt.Sprintf("%s: %s; podrun: %v", name, kube.message, podrun))
	default:
		n.disagreed = append(n.disagreed, fmt.Sprintf("%s:\n  kube:   %v\n  podrun: %v", name, kube, podrun))
	}
}

// agree is the same answer: both accept, both refuse the body as
// undecodable, or both find it invalid at the same field paths (besides
// fields podrun does not run, which podrun refuses and the API server
// may judge further).
func agree(kube, podrun verdict) bool {
	if kube.code != podrun.code {
		return false
	}
	if kube.code != 422 {
		return true
	}
	kube, podrun = withoutNotRun(kube), withoutNotRun(podrun)
	return strings.Join(kube.fields(), ",") == strings.Join(podrun.fields(), ",")
}

// TestDifferentialUpdate: every Job, ConfigMap and Secret of the corpus
// (ConfigMaps and Secrets also made immutable), stored as podrund stores
// it, is edited as a PUT edits a GET's answer, and the API server's update
// checks and podrun's must agree.
func TestDifferentialUpdate(t *testing.T) {
	docs, err := loadCorpus(corpusDirs(t)...)
	if err != nil {
		t.Fatal(err)
	}
	var n tally
	for _, d := range docs {
		kind, _ := d.tree["kind"].(string)
		variants := []map[string]any{d.tree}
		if kind == "ConfigMap" || kind == "Secret" {
			immutable, _ := set("immutable", true).apply(d.tree)
			variants = append(variants, immutable)
		}
		for _, tree := range variants {
			n.compareUpdates(t, d.source, tree, updates(kind))
		}
	}
	t.Logf("stored objects %d, updates %d, agreed %d, disagreed %d", n.documents, n.cases, n.agreed, len(n.disagreed))
	if n.documents == 0 {
		t.Fatal("no object of the corpus was stored")
	}
	for _, d := range n.disagreed {
		t.Error(d)
	}
}

func (n *tally) compareUpdates(t *testing.T, source string, tree map[string]any, edits []mutation) {
	if len(edits) == 0 {
		return
	}
	raw, _ := json.Marshal(tree)
	stored, old, ok := storedObject(raw)
	if !ok {
		return
	}
	n.documents++
	var storedTree map[string]any
	dec := json.NewDecoder(strings.NewReader(string(old)))
	dec.UseNumber()
	if err := dec.Decode(&storedTree); err != nil {
		t.Fatal(err)
	}
	for _, m := range edits {
		next, applies := m.apply(storedTree)
		if !applies {
			continue
		}
		body, _ := json.Marshal(next)
		n.cases++
		kube, podrun := kubeUpdateVerdict(old, body), podrunUpdateVerdict(stored, body)
		if agree(kube, podrun) {
			n.agreed++
		} else {
			n.disagreed = append(n.disagreed, fmt.Sprintf("%s (immutable %v) %s:\n  kube:   %v\n  podrun: %v",
				source, tree["immutable"], m.name, kube, podrun))
		}
	}
}
