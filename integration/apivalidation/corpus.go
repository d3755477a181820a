package apivalidation

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// document is one object of the corpus, as a JSON tree.
type document struct {
	source string // file and index
	tree   map[string]any
}

// loadCorpus reads every .yaml file below each dir; a document that is a
// workload (Deployment, ReplicaSet, DaemonSet, StatefulSet, CronJob)
// becomes the Pod its template makes, so that its pod spec is tested too.
// Kinds podrun does not serve are left out.
func loadCorpus(dirs ...string) ([]document, error) {
	var docs []document
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
				return err
			}
			found, err := readDocuments(path)
			docs = append(docs, found...)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return docs, nil
}

func readDocuments(path string) ([]document, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	rd := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs []document
	for i := 0; ; i++ {
		raw, err := rd.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		js, err := yaml.YAMLToJSON(raw)
		if err != nil {
			return nil, fmt.Errorf("%s document %d: %w", path, i, err)
		}
		var tree map[string]any
		dec := json.NewDecoder(bytes.NewReader(js))
		dec.UseNumber()
		if err := dec.Decode(&tree); err != nil || tree == nil {
			continue // an empty or scalar document
		}
		if tree = served(tree); tree != nil {
			docs = append(docs, document{source: fmt.Sprintf("%s#%d", filepath.Base(path), i), tree: tree})
		}
	}
}

// served returns the document as a kind podrun serves, or nil.
func served(tree map[string]any) map[string]any {
	switch fmt.Sprint(tree["apiVersion"], " ", tree["kind"]) {
	case "v1 Pod", "v1 ConfigMap", "v1 Secret", "batch/v1 Job":
		return tree
	case "apps/v1 Deployment", "apps/v1 ReplicaSet", "apps/v1 DaemonSet", "apps/v1 StatefulSet":
		return podOfTemplate(tree, "spec", "template")
	case "batch/v1 CronJob":
		return podOfTemplate(tree, "spec", "jobTemplate", "spec", "template")
	}
	return nil
}

// podOfTemplate makes the Pod of a workload's pod template, named after
// the workload.
func podOfTemplate(tree map[string]any, keys ...string) map[string]any {
	t, ok := walk(tree, keys)
	template, isMap := t.(map[string]any)
	if !ok || !isMap {
		return nil
	}
	meta, _ := template["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
	}
	if outer, _ := tree["metadata"].(map[string]any); outer != nil && outer["name"] != nil {
		meta["name"] = outer["name"]
	}
	return map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": template["spec"]}
}
