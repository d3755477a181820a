package containerd

import (
	"os"
	"slices"
	"testing"

	"go.uber.org/zap/zaptest"
	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/daemon/crilog"
	"github.com/podrun/podrun/daemon/sandbox"
	"github.com/podrun/podrun/daemon/volumes"
	"github.com/podrun/podrun/supervisor"
)

// Containers of one pod share the sandbox (UTS: hostname = pod name) and
// volumes; after teardown nothing of the pod is left on disk.
func TestPodSandboxAndVolumes(t *testing.T) {
	var sbm *sandbox.Manager
	var vm *volumes.Manager
	e := newTestEnvWith(t, func(o *Options) {
		var err error
		if sbm, err = sandbox.NewManager(sandbox.Options{Root: o.Root, State: o.State, Logger: zaptest.NewLogger(t)}); err != nil {
			t.Fatal(err)
		}
		vm = volumes.NewManager(o.Root, o.Objects, zaptest.NewLogger(t))
		o.Sandboxes, o.Volumes = sbm, vm
	})
	mount := []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
	writer := busybox("writer", "sh", "-c", "hostname > /data/h; cat /etc/hostname >> /data/h; echo $(MSG) >> /data/h")
	writer.Env = []corev1.EnvVar{{Name: "MSG", Value: "shared"}}
	writer.VolumeMounts = mount
	reader := busybox("reader", "cat", "/data/h")
	reader.VolumeMounts = mount
	pod := e.pod(writer, reader)
	pod.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}

	sb, err := e.rt.EnsureSandbox(e.ctx, pod, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := vm.Cleanup(e.ctx, pod); err != nil {
			t.Error(err)
		}
		if err := e.rt.RemoveSandbox(e.ctx, pod); err != nil {
			t.Error(err)
		}
		if err := e.rt.RemovePodLogs(pod); err != nil {
			t.Error(err)
		}
		for _, dir := range []string{e.rt.podDir(pod), crilog.PodDir(e.root, logPod(pod))} {
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("%s left behind after pod teardown", dir)
			}
		}
	}()
	var out []string
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		inst, err := e.rt.CreateContainer(e.ctx, supervisor.CreateRequest{Pod: pod, Container: c,
			Class: supervisor.Regular, Sandbox: sb, ImageRef: c.Image})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.rt.StartContainer(e.ctx, inst.ID); err != nil {
			t.Fatal(err)
		}
		e.waitExit(inst.ID)
		if st, err := e.rt.Reap(e.ctx, inst.ID); err != nil || st.ExitCode != 0 {
			t.Fatalf("%s: %+v, %v", c.Name, st, err)
		}
		out = e.stdout(inst)
	}
	if want := []string{pod.Name, pod.Name, "shared"}; !slices.Equal(out, want) {
		t.Fatalf("reader saw %q, want %q", out, want)
	}
}
