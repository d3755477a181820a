package supervisor

import (
	"go/build"
	"strings"
	"testing"
)

// The engine is pure: it sees containerd only through Runtime and the
// store only through Sink (docs/architecture.md, the floors), so neither
// it nor its subpackages import anything of daemon/, containerd or bbolt,
// and only the probe handlers speak HTTP (httpGet probes and hooks).
func TestEngineImportsNothingOfTheWorld(t *testing.T) {
	world := []string{"github.com/podrun/podrun/daemon/", "github.com/containerd/", "go.etcd.io/bbolt"}
	for dir, banned := range map[string][]string{
		".":             append(world, "net/http"),
		"job":           append(world, "net/http"),
		"probe/results": append(world, "net/http"),
		"probe":         world,
	} {
		pkg, err := build.ImportDir(dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range pkg.Imports {
			for _, banned := range banned {
				if imp == strings.TrimSuffix(banned, "/") || strings.HasPrefix(imp, banned) {
					t.Errorf("supervisor/%s imports %s", dir, imp)
				}
			}
		}
	}
}
