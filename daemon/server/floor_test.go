package server

import (
	"go/build"
	"strings"
	"testing"
)

// The server is HTTP only: what objects mean, how they are stored and
// what the container runtime says lives below it (daemon/objects), so
// none of these may be imported here (docs/architecture.md, the floors).
func TestServerImportsNoStorageOrRuntime(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	banned := []string{"github.com/podrun/podrun/daemon/store", "github.com/podrun/podrun/supervisor/job",
		"github.com/podrun/podrun/daemon/containerd", "go.etcd.io/bbolt", "github.com/containerd/"}
	for _, imp := range pkg.Imports {
		for _, b := range banned {
			if imp == b || strings.HasPrefix(imp, b+"/") || strings.HasSuffix(b, "/") && strings.HasPrefix(imp, b) {
				t.Errorf("daemon/server imports %s: that belongs in daemon/objects or daemon/app", imp)
			}
		}
	}
}
