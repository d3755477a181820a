// Package kubectl runs the real kubectl and a client-go program against a
// real podrund, through the HTTPS listener and the kubeconfig that
// `podctl kubeconfig` prints: the clients users already have must work
// unchanged (docs/contract.md §3). Both programs are built from the
// separate module integration/kubeclients, so that k8s.io/kubectl never
// enters podrun's own go.mod; the build is cached between runs.
package kubectl

import (
	"os"
	"testing"

	"github.com/podrun/podrun/integration/harness"
)

var env *harness.Env

func TestMain(m *testing.M) {
	os.Exit(harness.Main(m, &env))
}
