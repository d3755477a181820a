package containerd

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
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
	inst := e.mustCreate(pod, 0)
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

// The image config and process user kept from an image's first container
// give later containers exactly the process oci.WithImageConfig gives the
// first (env, args, cwd, user and groups read from the image's files).
func TestCachedImageConfigMakesTheSameProcess(t *testing.T) {
	e := newTestEnv(t)
	group := filepath.Join(t.TempDir(), "group")
	os.WriteFile(group, []byte("root:x:0:\nuser:x:1000:\nwheel:x:10:root,user\naudio:x:29:user\n"), 0o644)
	userImage := testimage.WithUser("docker.io/library/named-user:1", "user")
	userImage.Files = append(userImage.Files, testimage.File{Source: group, Target: "etc/group", Mode: 0o644})
	userImage.Env = []string{"FROM_IMAGE=1", "HOSTNAME=image"}
	var buf bytes.Buffer
	if err := testimage.Write(&buf, userImage); err != nil {
		t.Fatal(err)
	}
	if _, err := e.rt.ImportImage(e.ctx, &buf); err != nil {
		t.Fatal(err)
	}
	for _, c := range []corev1.Container{
		{Name: "plain", Image: "busybox:1.28", Command: []string{"sleep", "1"}},
		{Name: "entrypoint", Image: argsImage, WorkingDir: "/tmp"},
		{Name: "user", Image: "named-user:1", Command: []string{"id"},
			Env: []corev1.EnvVar{{Name: "FROM_POD", Value: "2"}}},
	} {
		pod := e.pod(c)
		var procs []*specs.Process
		for attempt := range int32(2) {
			inst, err := e.create(pod, attempt)
			if err != nil {
				t.Fatalf("%s: create %d: %v", c.Name, attempt, err)
			}
			cont, err := e.rt.Client().LoadContainer(e.rt.nsCtx(e.ctx), inst.ID)
			if err != nil {
				t.Fatal(err)
			}
			spec, err := cont.Spec(e.rt.nsCtx(e.ctx))
			e.rt.RemoveContainer(e.ctx, inst.ID)
			if err != nil {
				t.Fatal(err)
			}
			procs = append(procs, spec.Process)
		}
		first, second := procs[0], procs[1]
		if !reflect.DeepEqual(first.Env, second.Env) || !reflect.DeepEqual(first.Args, second.Args) ||
			first.Cwd != second.Cwd || !reflect.DeepEqual(first.User, second.User) {
			t.Errorf("%s: first container's process %+v %q %q %s, second's %+v %q %q %s", c.Name,
				first.User, first.Env, first.Args, first.Cwd, second.User, second.Env, second.Args, second.Cwd)
		}
		if c.Name == "user" && (second.User.UID != 1000 || len(second.User.AdditionalGids) < 2) {
			t.Errorf("named user: %+v, want uid 1000 with the groups /etc/group lists it in", second.User)
		}
	}
}

// A container whose image snapshot went away behind podrund's back fails
// once; the next try unpacks the image again and runs.
func TestLostImageSnapshotIsUnpackedAgain(t *testing.T) {
	e := newTestEnv(t)
	pod := e.pod(busybox("c", "echo", "back"))
	inst := e.mustCreate(pod, 0)
	if err := e.rt.RemoveContainer(e.ctx, inst.ID); err != nil {
		t.Fatal(err)
	}
	ctx := e.rt.nsCtx(e.ctx)
	img, err := e.rt.Client().GetImage(ctx, "docker.io/library/busybox:1.28")
	if err != nil {
		t.Fatal(err)
	}
	info, _ := e.rt.images.get(img.Target().Digest.String())
	if info.chainID == "" {
		t.Fatal("no chain ID kept for the image after a container was created")
	}
	if err := e.rt.Client().SnapshotService(e.rt.snapshotter).Remove(ctx, info.chainID); err != nil {
		t.Fatalf("remove the image's snapshot: %v", err)
	}
	if _, err := e.create(pod, 1); err == nil {
		t.Fatal("create without the image's snapshot succeeded")
	}
	// The image is unpacked again.
	e.runPrints("after the failed try", pod, "back")
}
