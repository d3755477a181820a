package containerd

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/core/snapshots"
	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/supervisor"
)

func TestRunExitCodeLogsAndTerminationMessage(t *testing.T) {
	e := newTestEnv(t)
	c := busybox("app", "sh", "-c",
		"echo hello; echo oops >&2; echo bye > /dev/termination-log; printf partial; exit 3")
	inst, st := e.run(e.pod(c))
	if st.ExitCode != 3 || st.Message != "bye\n" || st.FinishedAt.IsZero() || st.OOMKilled {
		t.Fatalf("exit status %+v, want code 3 with message %q", st, "bye\n")
	}
	recs := readRecords(t, inst.LogPath)
	want := map[string]bool{"stdout F hello": true, "stderr F oops": true, "stdout F partial": true}
	for _, r := range recs {
		delete(want, strings.Join(r, " "))
	}
	if len(want) > 0 || len(recs) != 3 {
		t.Fatalf("CRI log records %q: missing %v", recs, want)
	}
	if _, err := os.Stat(inst.LogPath); err != nil {
		t.Fatal("log file removed with the container; it must outlive it (logs --previous)")
	}

	_, st = e.run(e.pod(busybox("ok", "true")))
	if st.ExitCode != 0 || st.Message != "" {
		t.Fatalf("true: %+v, want exit 0 without message", st)
	}

	// R86a: FallbackToLogsOnError uses the log tail when the file is empty.
	c = busybox("fb", "sh", "-c", "echo first; echo failing; exit 1")
	c.TerminationMessagePolicy = corev1.TerminationMessageFallbackToLogsOnError
	_, st = e.run(e.pod(c))
	if st.ExitCode != 1 || st.Message != "first\nfailing" {
		t.Fatalf("fallback: %+v, want exit 1 and the log tail", st)
	}
	// terminationMessagePath elsewhere.
	c = busybox("path", "sh", "-c", "echo custom > /tmp/msg")
	c.TerminationMessagePath = "/tmp/msg"
	if _, st = e.run(e.pod(c)); st.Message != "custom\n" {
		t.Fatalf("custom terminationMessagePath: message %q", st.Message)
	}
}

func TestCommandAndArgsOverImage(t *testing.T) {
	e := newTestEnv(t) // argtest image: ENTRYPOINT ["echo","ep"] CMD ["cmd"]
	for _, tc := range []struct {
		name          string
		command, args []string
		want          string
	}{
		{"image entrypoint and cmd", nil, nil, "ep cmd"},
		{"args replace cmd", nil, []string{"a1", "$(MSG)"}, "ep a1 hi"},
		{"command replaces entrypoint, drops cmd", []string{"echo", "c"}, nil, "c"},
		{"command and args", []string{"echo", "c"}, []string{"$$(MSG)", "$(MSG)"}, "c $(MSG) hi"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := corev1.Container{Name: "args", Image: argsImage, Command: tc.command, Args: tc.args,
				Env: []corev1.EnvVar{{Name: "MSG", Value: "hi"}}}
			inst, st := e.run(e.pod(c))
			if out := e.stdout(inst); st.ExitCode != 0 || len(out) != 1 || out[0] != tc.want {
				t.Fatalf("output %q (exit %d), want %q", out, st.ExitCode, tc.want)
			}
		})
	}
}

func TestEnvInContainer(t *testing.T) {
	e := newTestEnv(t)
	c := busybox("env")
	c.WorkingDir = "/tmp"
	c.Env = []corev1.EnvVar{
		{Name: "MODE", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Key: "mode"}}},
		{Name: "GREETING", Value: "mode=$(MODE)"},
		{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
	}
	c.Command = []string{"sh", "-c", `echo "$MODE|$GREETING|$POD_IP|$PATH|$(GREETING)|$HOSTNAME"; pwd`}
	inst, _ := e.run(e.pod(c))
	want := []string{"fast|mode=fast|10.1.2.3|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin|mode=fast|web", "/tmp"}
	if out := e.stdout(inst); !slices.Equal(out, want) {
		t.Fatalf("output %q, want %q", out, want)
	}

	// A missing ConfigMap is a config error and leaves nothing behind.
	c.Env[0].ValueFrom.ConfigMapKeyRef.Name = "absent"
	_, err := e.create(e.pod(c), 0)
	var se *supervisor.StartError
	if !errors.As(err, &se) || se.Reason != "CreateContainerConfigError" || !strings.Contains(se.Message, `"absent"`) {
		t.Fatalf("create with missing configmap: %v, want CreateContainerConfigError naming it", err)
	}
	// An unknown executable cannot start: RunContainerError, as the kubelet
	// reports a failed task creation.
	pod := e.pod(busybox("nope", "/no/such/binary"))
	_, err = e.create(pod, 0)
	if !errors.As(err, &se) || se.Reason != "RunContainerError" || !strings.Contains(se.Message, "/no/such/binary") {
		t.Fatalf("create with missing binary: %v, want RunContainerError naming the binary", err)
	}
	if _, err := os.Stat(e.rt.podDir(pod) + "/containers"); !os.IsNotExist(err) {
		t.Fatalf("failed create left its termination-log dir: %v", err)
	}
}

func TestStopTermThenKill(t *testing.T) {
	e := newTestEnv(t)
	// R60: a trapped TERM that exits 0.
	inst := e.createAndStart(e.pod(busybox("trap", "sh", "-c",
		`trap "echo got-term; exit 0" TERM; echo ready; while true; do sleep 0.1; done`)))
	e.waitLog(inst, "ready")
	start := time.Now()
	if err := e.rt.StopContainer(e.ctx, inst.ID, 0, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("trapped TERM took %s to stop", d)
	}
	e.waitExit(inst.ID)
	if st, err := e.rt.Reap(e.ctx, inst.ID); err != nil || st.ExitCode != 0 {
		t.Fatalf("trapped TERM: %+v, %v; want exit 0", st, err)
	}

	// R60: PID 1 without a handler ignores TERM; SIGKILL at grace end → 137.
	inst = e.createAndStart(e.pod(busybox("sleeper", "sleep", "1000")))
	start = time.Now()
	if err := e.rt.StopContainer(e.ctx, inst.ID, 0, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 2*time.Second || d > 6*time.Second {
		t.Errorf("stop took %s, want the 2s grace then SIGKILL", d)
	}
	e.waitExit(inst.ID)
	if st, err := e.rt.Reap(e.ctx, inst.ID); err != nil || st.ExitCode != 137 {
		t.Fatalf("killed: %+v, %v; want exit 137", st, err)
	}

	// The image's STOPSIGNAL is the default stop signal.
	c := busybox("usr1", "sh", "-c", `trap "exit 7" USR1; echo ready; while true; do sleep 0.1; done`)
	c.Image = stopSigImage
	inst = e.createAndStart(e.pod(c))
	if inst.StopSignal != syscall.SIGUSR1 {
		t.Errorf("instance stop signal %v, want SIGUSR1 from the image", inst.StopSignal)
	}
	e.waitLog(inst, "ready")
	if err := e.rt.StopContainer(e.ctx, inst.ID, 0, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	e.waitExit(inst.ID)
	if st, _ := e.rt.Reap(e.ctx, inst.ID); st.ExitCode != 7 {
		t.Fatalf("STOPSIGNAL USR1: exit %d, want 7", st.ExitCode)
	}

	// Stopping what is gone is success.
	if err := e.rt.StopContainer(e.ctx, inst.ID, 0, time.Second); err != nil {
		t.Fatalf("stop of a removed instance: %v", err)
	}
}

func TestListStartRemove(t *testing.T) {
	e := newTestEnv(t)
	pod := e.pod(busybox("app", "sleep", "1000"))
	inst := e.mustCreate(pod, 4)
	if len(inst.ID) != 32 || inst.Attempt != 4 || !strings.HasSuffix(inst.LogPath, "/app/4.log") {
		t.Errorf("instance %+v: want a 32-hex ID, attempt 4, log .../app/4.log", inst)
	}
	rc := e.listed()[inst.ID]
	if rc.State != supervisor.InstanceCreated || rc.PodUID != string(pod.UID) || rc.Container != "app" || rc.Attempt != 4 {
		t.Fatalf("listed %+v, want Created app attempt 4 of the pod", rc)
	}
	started, err := e.rt.StartContainer(e.ctx, inst.ID)
	if err != nil {
		t.Fatal(err)
	}
	rc = e.listed()[inst.ID]
	if rc.State != supervisor.InstanceRunning || !rc.StartedAt.Equal(started) {
		t.Fatalf("listed %+v, want Running since %s", rc, started)
	}
	if err := e.rt.RemoveContainer(e.ctx, inst.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.listed()[inst.ID]; ok {
		t.Fatal("removed instance still listed")
	}
	if err := e.rt.RemoveContainer(e.ctx, inst.ID); err != nil {
		t.Fatalf("second remove: %v", err)
	}

	// A created, never started instance is removed without running.
	inst = e.mustCreate(pod, 5)
	start := time.Now()
	if err := e.rt.StopContainer(e.ctx, inst.ID, 0, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("stopping a never-started instance took %s; it ignores TERM, so it must be killed at once", d)
	}
	if err := e.rt.RemoveContainer(e.ctx, inst.ID); err != nil {
		t.Fatal(err)
	}

	// An exited instance is listed as Exited with its status.
	inst = e.createAndStart(e.pod(busybox("quick", "sh", "-c", "exit 9")))
	e.waitExit(inst.ID)
	rc = e.listed()[inst.ID]
	if rc.State != supervisor.InstanceExited || rc.Exit == nil || rc.Exit.ExitCode != 9 {
		t.Fatalf("listed %+v, want Exited with code 9", rc)
	}
	if _, err := e.rt.Reap(e.ctx, inst.ID); err != nil {
		t.Fatal(err)
	}
}

func TestTTYContainerLogs(t *testing.T) {
	e := newTestEnv(t)
	c := busybox("tty", "sh", "-c", "test -t 1 && echo is-a-tty")
	c.TTY = true
	inst, st := e.run(e.pod(c))
	if out := e.stdout(inst); st.ExitCode != 0 || len(out) == 0 || !strings.HasPrefix(out[0], "is-a-tty") {
		t.Fatalf("tty container: exit %d, stdout %q", st.ExitCode, out)
	}
}

func TestLogRotationThroughShimLogger(t *testing.T) {
	e := newTestEnvWith(t, func(o *Options) { o.LogMaxBytes, o.LogMaxFiles = 4096, 3 })
	inst, st := e.run(e.pod(busybox("chatty", "sh", "-c",
		`i=0; while [ $i -lt 500 ]; do echo line-$i; i=$((i+1)); done`)))
	if st.ExitCode != 0 {
		t.Fatalf("exit %d", st.ExitCode)
	}
	for _, p := range []string{inst.LogPath, inst.LogPath + ".1", inst.LogPath + ".2"} {
		if size := fileSize(t, p); size > 4096 || size == 0 {
			t.Errorf("%s: %d bytes, want 1..4096", p, size)
		}
	}
	if _, err := os.Stat(inst.LogPath + ".3"); !os.IsNotExist(err) {
		t.Error("more than 3 log files kept")
	}
	if out := e.stdout(inst); len(out) == 0 || out[len(out)-1] != "line-499" {
		t.Fatalf("live log does not end with the last line")
	}
}

// The native snapshotter is the fallback where overlayfs does not work.
func TestNativeSnapshotter(t *testing.T) {
	e := newTestEnvWith(t, func(o *Options) { o.Snapshotter = "native" })
	e.runPrints("native snapshotter", e.pod(busybox("native", "sh", "-c", "echo written > /new-file && cat /new-file")), "written")
	// The leftover check lists overlayfs only; look at native here.
	var active []string
	err := e.rt.Client().SnapshotService("native").Walk(e.rt.nsCtx(e.ctx), func(_ context.Context, info snapshots.Info) error {
		if info.Kind == snapshots.KindActive {
			active = append(active, info.Name)
		}
		return nil
	})
	if err != nil || len(active) > 0 {
		t.Fatalf("native snapshots left: %q, %v", active, err)
	}
}
