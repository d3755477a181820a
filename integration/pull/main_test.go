// Package pull holds the end-to-end tests of image pulls: a real podrund on
// a private containerd pulls from Debian's docker-registry (distribution
// 2.8) running on 127.0.0.1, exactly as a user would through podctl. Each
// test starts its own registry (a free port, storage in a temp dir) and
// pushes the harness's busybox test image into it over the distribution
// HTTP API. Rule numbers refer to docs/semantics.md.
package pull

import (
	"os"
	"testing"

	"github.com/podrun/podrun/integration/harness"
)

// env is shared by the tests of this binary: one containerd, one podrund;
// each test works in its own pod namespace (harness.NamespaceFor).
var env *harness.Env

func TestMain(m *testing.M) {
	os.Exit(harness.Main(m, &env))
}
