// Package cronjob holds the end-to-end tests of batch/v1 CronJobs run by
// a real podrund on a private containerd (docs/semantics.md R109-R116).
// CronJob schedules have minute granularity, so these tests take minutes
// of wall time; they run in parallel and each waits only as many minute
// boundaries as its rule needs. They assert which schedule times ran
// (Job names are minutes since the epoch), never how fast.
package cronjob

import (
	"os"
	"testing"

	"github.com/podrun/podrun/integration/harness"
)

// env is shared by the tests of this binary: one containerd, one podrund;
// each test works in its own namespace (harness.NamespaceFor).
var env *harness.Env

func TestMain(m *testing.M) {
	os.Exit(harness.Main(m, &env))
}
