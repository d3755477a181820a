package containerd

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/podrun/podrun/daemon/secopts"
	"github.com/podrun/podrun/integration/harness"
	"github.com/podrun/podrun/integration/testimage"
	"github.com/podrun/podrun/supervisor"
)

// testContainerd is the private containerd of this test binary (own root,
// state and socket, no CRI), started by TestMain.
var testContainerd *harness.Containerd

// TestMain also serves as the log writer: the shims run this test binary
// as "<exe> cri-logger SPEC", exactly as they run podrund; and as the
// import child (ImportBinary).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == LoggerCommand {
		os.Exit(LoggerMain(os.Args[2:]))
	}
	// …and as the shared one, "<exe> log-writer --state DIR".
	if len(os.Args) > 1 && os.Args[1] == WriterCommand {
		os.Exit(WriterMain(os.Args[2:]))
	}
	// …and as the import child, "<exe> import-image ADDRESS NS SNAPSHOTTER".
	if len(os.Args) > 1 && os.Args[1] == ImportCommand {
		os.Exit(ImportMain(os.Args[2:]))
	}
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "daemon/containerd tests need root (they run a private containerd)")
		return 1
	}
	dir, err := os.MkdirTemp("", "podrun-rt-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	cd, err := harness.StartContainerd(context.Background(), dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "start private containerd:", err)
		return 1
	}
	testContainerd = cd
	code := m.Run()
	if err := cd.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "stop private containerd:", err)
		code = 1
	}
	return code
}

// testEnv is one test's runtime in its own containerd namespace, with the
// test images imported and an event subscription.
type testEnv struct {
	t      *testing.T
	ctx    context.Context
	rt     *Runtime
	events <-chan supervisor.RuntimeEvent
	root   string
	opts   Options
}

const (
	argsImage     = "docker.io/library/argtest:1"
	stopSigImage  = "docker.io/library/busybox:stopsignal"
	eventDeadline = 20 * time.Second
)

func newTestEnv(t *testing.T) *testEnv { return newTestEnvWith(t, nil) }

// newTestEnvWith lets a test adjust the Runtime's options.
func newTestEnvWith(t *testing.T, adjust func(*Options)) *testEnv {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ns := "rt-" + randHex(t, 6)
	root := t.TempDir()
	opts := Options{Address: testContainerd.Address, Namespace: ns, Root: root,
		State: t.TempDir(), Objects: testObjects(), Logger: zaptest.NewLogger(t),
		LogMaxBytes: 1 << 20, LogMaxFiles: 2, LoggerBinary: testExecutable(t)}
	if adjust != nil {
		adjust(&opts)
	}
	rt, err := New(ctx, opts)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	e := &testEnv{t: t, ctx: ctx, rt: rt, root: root, opts: opts}
	t.Cleanup(func() {
		e.checkNothingLeft(ns)
		cancel()
		rt.Close()
	})
	for _, spec := range []testimage.Spec{
		testimage.Busybox(),
		{Names: []string{argsImage}, Busybox: testimage.DefaultBusybox,
			Entrypoint: []string{"echo", "ep"}, Cmd: []string{"cmd"}},
		testimage.WithStopSignal(stopSigImage, "SIGUSR1"),
	} {
		var buf bytes.Buffer
		if err := testimage.Write(&buf, spec); err != nil {
			t.Fatal(err)
		}
		if _, err := rt.ImportImage(ctx, &buf); err != nil {
			t.Fatal(err)
		}
	}
	e.events = rt.Events(ctx)
	return e
}

// checkNothingLeft: no containers, tasks, active snapshots, rootfs mounts
// or shims of this test remain.
func (e *testEnv) checkNothingLeft(ns string) {
	t := e.t
	left, err := testContainerd.Leftovers(context.Background(), ns)
	if err != nil {
		t.Errorf("list leftovers: %v", err)
	}
	if len(left) > 0 {
		t.Errorf("left behind in containerd: %q", left)
	}
	state := filepath.Join(testContainerd.Dir, "state")
	var mounts []string
	var shims []harness.Process
	for range 50 { // shims exit just after their last task is deleted
		mounts, _ = harness.MountsUnder(state)
		shims = harness.ProcessesMentioning(ns)
		if len(mounts) == 0 && len(shims) == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("left behind: mounts %q, processes %v", mounts, shims)
}

// testExecutable is this test binary, whose TestMain is the log writer:
// the tests use the writer of this tree, never a podrund-logger that
// happens to be on PATH.
func testExecutable(t *testing.T) string {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

func randHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func (e *testEnv) pod(containers ...corev1.Container) *corev1.Pod {
	pod := testPod()
	pod.UID = types.UID("uid-" + randHex(e.t, 8))
	// secopts puts containers under a pod cgroup; the sandbox removes it
	// on pod teardown, which these tests do not run.
	e.t.Cleanup(func() {
		if err := secopts.RemovePodCgroup(pod.UID); err != nil {
			e.t.Errorf("remove pod cgroup: %v", err)
		}
	})
	pod.CreationTimestamp = metav1.Now()
	pod.Spec.Containers = containers
	return pod
}

// create makes an instance of the pod's first container.
func (e *testEnv) create(pod *corev1.Pod, attempt int32) (supervisor.Instance, error) {
	c := &pod.Spec.Containers[0]
	return e.rt.CreateContainer(e.ctx, supervisor.CreateRequest{Pod: pod, Container: c,
		Class: supervisor.Regular, Attempt: attempt, Sandbox: supervisor.Sandbox{PodIP: "10.1.2.3"},
		ImageRef: c.Image})
}

// mustCreate is create for a test that cannot go on without the instance.
func (e *testEnv) mustCreate(pod *corev1.Pod, attempt int32) supervisor.Instance {
	e.t.Helper()
	inst, err := e.create(pod, attempt)
	if err != nil {
		e.t.Fatalf("create %s attempt %d: %v", pod.Spec.Containers[0].Name, attempt, err)
	}
	return inst
}

// listed is what ListContainers reports, by instance ID.
func (e *testEnv) listed() map[string]supervisor.RuntimeContainer {
	e.t.Helper()
	all, err := e.rt.ListContainers(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	m := map[string]supervisor.RuntimeContainer{}
	for _, rc := range all {
		m[rc.ID] = rc
	}
	return m
}

func (e *testEnv) createAndStart(pod *corev1.Pod) supervisor.Instance {
	e.t.Helper()
	inst := e.mustCreate(pod, 0)
	if _, err := e.rt.StartContainer(e.ctx, inst.ID); err != nil {
		e.rt.RemoveContainer(e.ctx, inst.ID)
		e.t.Fatalf("start: %v", err)
	}
	return inst
}

// waitExit waits for the exit event of instance id.
func (e *testEnv) waitExit(id string) supervisor.RuntimeEvent {
	e.t.Helper()
	timeout := time.After(eventDeadline)
	for {
		select {
		case ev := <-e.events:
			if ev.Kind == supervisor.EventExit && ev.ContainerID == id {
				return ev
			}
		case <-timeout:
			e.rt.RemoveContainer(e.ctx, id)
			e.t.Fatalf("no exit event for %s within %s", id, eventDeadline)
		}
	}
}

// run runs the pod's first container to its exit and reaps it.
func (e *testEnv) run(pod *corev1.Pod) (supervisor.Instance, supervisor.ExitStatus) {
	e.t.Helper()
	inst := e.createAndStart(pod)
	ev := e.waitExit(inst.ID)
	if ev.PodUID != string(pod.UID) {
		e.t.Errorf("exit event pod UID %q, want %q", ev.PodUID, pod.UID)
	}
	st, err := e.rt.Reap(e.ctx, inst.ID)
	if err != nil {
		e.t.Fatalf("reap: %v", err)
	}
	if st.ExitCode != ev.ExitCode {
		e.t.Errorf("reaped exit code %d, event said %d", st.ExitCode, ev.ExitCode)
	}
	return inst, st
}

// runPrints runs the pod's first container (see run) and wants it to exit
// 0 having printed exactly the one line want; what names the run.
func (e *testEnv) runPrints(what string, pod *corev1.Pod, want string) {
	e.t.Helper()
	inst, st := e.run(pod)
	if out := e.stdout(inst); st.ExitCode != 0 || len(out) != 1 || out[0] != want {
		e.t.Fatalf("%s: exit %d, out %q; want exit 0 and %q", what, st.ExitCode, out, want)
	}
}

// stdout is the content of the stdout records of an instance's log.
func (e *testEnv) stdout(inst supervisor.Instance) []string {
	e.t.Helper()
	var out []string
	for _, rec := range readRecords(e.t, inst.LogPath) {
		if rec[0] == "stdout" {
			out = append(out, rec[2])
		}
	}
	return out
}

// waitLog waits until the instance's log holds want.
func (e *testEnv) waitLog(inst supervisor.Instance, want string) {
	e.t.Helper()
	for range 200 {
		if data, _ := os.ReadFile(inst.LogPath); strings.Contains(string(data), want) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.t.Fatalf("log %s never contained %q", inst.LogPath, want)
}

func busybox(name string, command ...string) corev1.Container {
	return corev1.Container{Name: name, Image: "busybox:1.28", Command: command,
		TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: corev1.TerminationMessageReadFile}
}

// waitEvent waits for the next event of kind.
func (e *testEnv) waitEvent(kind supervisor.RuntimeEventKind) supervisor.RuntimeEvent {
	e.t.Helper()
	timeout := time.After(eventDeadline)
	for {
		select {
		case ev := <-e.events:
			if ev.Kind == kind {
				return ev
			}
		case <-timeout:
			e.t.Fatalf("no %s event within %s", kind, eventDeadline)
		}
	}
}
