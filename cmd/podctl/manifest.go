package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/podrun/podrun/api"
)

// manifestObject is an object read from a file, with the file it came from.
type manifestObject struct {
	source string
	obj    runtime.Object
}

// readManifests decodes every object of the -f arguments (a file, a
// directory's .yaml/.yml/.json files, or - for stdin). Nothing is sent to
// podrund when any of them fails to decode.
func readManifests(paths []string, stdin io.Reader) ([]manifestObject, error) {
	if len(paths) == 0 {
		return nil, errors.New("must specify one of -f")
	}
	var out []manifestObject
	for _, p := range paths {
		files, err := expandPath(p)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			objs, err := decodeFile(f, stdin)
			if err != nil {
				return nil, err
			}
			out = append(out, objs...)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no objects passed to apply")
	}
	return out, nil
}

func expandPath(p string) ([]string, error) {
	if p == "-" {
		return []string{"-"}, nil
	}
	st, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("the path %q does not exist", p)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	if !st.IsDir() {
		return []string{p}, nil
	}
	entries, err := os.ReadDir(p)
	if err != nil {
		return nil, fmt.Errorf("read directory %s: %w", p, err)
	}
	var files []string
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if !e.IsDir() && (ext == ".yaml" || ext == ".yml" || ext == ".json") {
			files = append(files, filepath.Join(p, e.Name()))
		}
	}
	sort.Strings(files)
	return files, nil
}

func decodeFile(name string, stdin io.Reader) ([]manifestObject, error) {
	var data []byte
	var err error
	if name == "-" {
		name = "STDIN"
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(name)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	objs, err := api.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("error parsing %s: %v", name, err)
	}
	out := make([]manifestObject, len(objs))
	for i, o := range objs {
		out[i] = manifestObject{source: name, obj: o}
	}
	return out, nil
}
