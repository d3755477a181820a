package runtime

import (
	"bytes"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/testimage"
	"github.com/podrun/podrun/supervisor"
)

// An image's content facts are kept per digest, so a name that is
// imported again with other content runs, and reports, the new content.
func TestRetaggedImageRunsItsNewConfig(t *testing.T) {
	e := newTestEnv(t)
	const name = "docker.io/library/retag:1"
	importAs := func(word string) supervisor.ImageStatus {
		t.Helper()
		spec := testimage.Variant(name)
		spec.Entrypoint, spec.Cmd = []string{"echo"}, []string{word}
		var buf bytes.Buffer
		if err := testimage.Write(&buf, spec); err != nil {
			t.Fatal(err)
		}
		if _, err := e.rt.ImportImage(e.ctx, &buf); err != nil {
			t.Fatal(err)
		}
		st, err := e.rt.ImageStatus(e.ctx, name)
		if err != nil || !st.Present {
			t.Fatalf("ImageStatus(%s) = %+v, %v", name, st, err)
		}
		return st
	}
	run := func() []string {
		t.Helper()
		inst, res := e.run(e.pod(corev1.Container{Name: "c", Image: name}))
		if res.ExitCode != 0 {
			t.Fatalf("exit %d", res.ExitCode)
		}
		return e.stdout(inst)
	}
	first := importAs("one")
	if out := run(); len(out) != 1 || out[0] != "one" {
		t.Fatalf("first image printed %q, want one", out)
	}
	second := importAs("two")
	if second.ID == first.ID {
		t.Fatalf("image ID %s unchanged after importing other content under %s", first.ID, name)
	}
	if out := run(); len(out) != 1 || out[0] != "two" {
		t.Fatalf("re-imported image printed %q, want two (the new CMD)", out)
	}
	if err := e.rt.RemoveImage(e.ctx, name); err != nil {
		t.Fatal(err)
	}
	if st, err := e.rt.ImageStatus(e.ctx, name); err != nil || st.Present {
		t.Fatalf("after RemoveImage: %+v, %v; want not present", st, err)
	}
	// The same content again after the removal (its snapshots went with
	// it): nothing known of the removed image is used.
	if again := importAs("one"); again.ID != first.ID {
		t.Fatalf("re-import of the first content: ID %s, want %s", again.ID, first.ID)
	}
	if out := run(); len(out) != 1 || out[0] != "one" {
		t.Fatalf("image imported after removal printed %q, want one", out)
	}
	if err := e.rt.RemoveImage(e.ctx, name); err != nil {
		t.Fatal(err)
	}
}

// An instance created by one podrund and started by the next (restarted
// in between) starts, and both report its start time.
func TestStartByANewRuntimeAndStartTimeListed(t *testing.T) {
	e := newTestEnv(t)
	pod := e.pod(busybox("app", "sleep", "1000"))
	inst, err := e.create(pod, 0)
	if err != nil {
		t.Fatal(err)
	}
	rt2, err := New(e.ctx, e.opts)
	if err != nil {
		e.rt.RemoveContainer(e.ctx, inst.ID)
		t.Fatal(err)
	}
	defer rt2.Close()
	defer e.rt.RemoveContainer(e.ctx, inst.ID)
	started, err := rt2.StartContainer(e.ctx, inst.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i, rt := range []*Runtime{rt2, e.rt} {
		all, err := rt.ListContainers(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 1 || all[0].State != supervisor.InstanceRunning || !all[0].StartedAt.Equal(started) {
			t.Fatalf("runtime %d lists %+v, want the instance running since %s", i, all, started)
		}
	}
	termLog := map[string]string{labelTermLog: filepath.Join(e.rt.podDir(pod), "containers", "app", "0", "termination-log")}
	if st := readStartedAt(termLog); !st.Equal(started) {
		t.Fatalf("start time in the instance dir %s, want %s", st, started)
	}
	if err := rt2.RemoveContainer(e.ctx, inst.ID); err != nil {
		t.Fatal(err)
	}
	// The instance dir (termination log, start time) goes with it.
	if st := readStartedAt(termLog); !st.IsZero() {
		t.Errorf("start time still readable after removal: %s", st)
	}
}
