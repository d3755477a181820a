package crilog

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// The on-disk layout of container logs, kept here alone so that the
// runtime that creates them, the server that reads them, the eviction
// monitor that measures them and the writer that rotates them agree:
//
//	<root>/logs/<namespace>_<name>_<uid>/<container>/<attempt>.log
//	                                     <container>/<attempt>.log.1 …
//
// The rotated files are named logrotate style: .1 is the newest.

// Pod names the pod a log directory belongs to. It is not a corev1.Pod:
// this package keeps to the standard library (see the package comment).
type Pod struct {
	Namespace, Name, UID string
}

// Dir is the directory holding every pod's logs.
func Dir(root string) string { return filepath.Join(root, "logs") }

// PodDir is the directory of all logs of a pod; it is removed with the pod.
func PodDir(root string, p Pod) string {
	return filepath.Join(Dir(root), p.Namespace+"_"+p.Name+"_"+p.UID)
}

// ParsePodDir reads back the pod of a PodDir's base name. Namespaces and
// names are DNS labels and subdomains: they hold no '_'.
func ParsePodDir(base string) (Pod, bool) {
	parts := strings.Split(base, "_")
	if len(parts) != 3 || parts[2] == "" {
		return Pod{}, false
	}
	return Pod{Namespace: parts[0], Name: parts[1], UID: parts[2]}, true
}

// ContainerDir is the directory of all logs of one container of a pod,
// every attempt and its rotated files.
func ContainerDir(root string, p Pod, container string) string {
	return filepath.Join(PodDir(root, p), container)
}

// Path is the live log file of one attempt of a container.
func Path(root string, p Pod, container string, attempt int32) string {
	return filepath.Join(ContainerDir(root, p, container), strconv.Itoa(int(attempt))+".log")
}

// rotatedPath is the n-th rotated file of the log at path (n ≥ 1; .1 is
// the newest).
func rotatedPath(path string, n int) string {
	return path + "." + strconv.Itoa(n)
}

// Files lists a log with its rotated files, oldest first:
// <path>.N … <path>.1, <path>. The live file is listed whether or not it
// exists.
func Files(path string) []string {
	matches, _ := filepath.Glob(path + ".*")
	type rotated struct {
		path string
		n    int
	}
	var rs []rotated
	for _, m := range matches {
		n, err := strconv.Atoi(strings.TrimPrefix(m, path+"."))
		if err == nil && n > 0 {
			rs = append(rs, rotated{m, n})
		}
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].n > rs[j].n })
	out := make([]string, 0, len(rs)+1)
	for _, r := range rs {
		out = append(out, r.path)
	}
	return append(out, path)
}

// Remove deletes a log and its rotated files. Rotated files exist only
// beside a live file (the writer re-creates it at once), so without one
// there is no directory to read.
func Remove(path string) {
	if err := os.Remove(path); errors.Is(err, fs.ErrNotExist) {
		return
	}
	matches, _ := filepath.Glob(path + ".*")
	for _, m := range matches {
		os.Remove(m)
	}
}
