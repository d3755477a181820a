package containerd

import (
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/podrun/podrun/supervisor"
)

// R94: instances, their logs and their events survive a containerd restart
// and a podrund restart (a new Runtime adopts them).
func TestAdoptionAcrossRestarts(t *testing.T) {
	e := newTestEnv(t)
	inst := e.createAndStart(e.pod(busybox("ticker", "sh", "-c",
		`i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done`)))
	e.waitLog(inst, "tick 2")

	if err := testContainerd.Stop(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	e.waitEvent(supervisor.EventDisconnected)
	// The shim's logger writes on while containerd (and podrund) are away.
	before := fileSize(t, inst.LogPath)
	time.Sleep(time.Second)
	if after := fileSize(t, inst.LogPath); after <= before {
		t.Errorf("log did not grow while containerd was down (%d → %d bytes)", before, after)
	}
	if err := testContainerd.Start(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.waitEvent(supervisor.EventReconnected)

	// A new podrund: a fresh Runtime on the same namespace.
	rt2, err := New(e.ctx, e.opts)
	if err != nil {
		t.Fatal(err)
	}
	defer rt2.Close()
	all, err := rt2.ListContainers(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].ID != inst.ID || all[0].State != supervisor.InstanceRunning || all[0].StartedAt.IsZero() {
		t.Fatalf("after restart listed %+v, want the running ticker with its start time", all)
	}
	// sh as PID 1 without a trap ignores TERM: killed after the grace.
	if err := rt2.StopContainer(e.ctx, inst.ID, 0, time.Second); err != nil {
		t.Fatal(err)
	}
	ev := e.waitExit(inst.ID) // delivered on the re-subscribed stream
	st, err := rt2.Reap(e.ctx, inst.ID)
	if err != nil || st.ExitCode != 137 || ev.ExitCode != 137 {
		t.Fatalf("adopted instance: event %+v, reaped %+v, %v; want 137", ev, st, err)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}
