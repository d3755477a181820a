package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containernetworking/plugins/pkg/ns"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"go.uber.org/zap/zaptest"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/podrun/podrun/daemon/secopts"
	"github.com/podrun/podrun/daemon/volumes"
)

type oneConfigMap struct{ cm *corev1.ConfigMap }

func (o oneConfigMap) ConfigMap(_ context.Context, _, name string) (*corev1.ConfigMap, error) {
	if name == o.cm.Name {
		return o.cm, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "configmaps"}, name)
}

func (o oneConfigMap) Secret(_ context.Context, _, name string) (*corev1.Secret, error) {
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "secrets"}, name)
}

// TestContainerInSandbox runs a real container with runc, its spec built from
// the sandbox, volumes and security options as the runtime composes them,
// and checks what the process sees: hostname, shared netns and PID ns,
// user and groups, capabilities, no_new_privs, seccomp, memory limit,
// volume contents and a read-only rootfs.
func TestContainerInSandbox(t *testing.T) {
	ctx := namespaces.WithNamespace(context.Background(), "podrun-test")
	m := newTestManager(t, Options{})
	pod := testPod("runc-pod")
	pod.UID = "runc-test-uid-0001"
	share := true
	pod.Spec.ShareProcessNamespace = &share
	pod.Spec.Volumes = []corev1.Volume{{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}}}
	uid, gid := int64(1000), int64(3000)
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: &uid, RunAsGroup: &gid, SupplementalGroups: []int64{4000},
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}
	no, yes := false, true
	c := corev1.Container{Name: "app", VolumeMounts: []corev1.VolumeMount{{Name: "cfg", MountPath: "/data"}},
		SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: &no, ReadOnlyRootFilesystem: &yes,
			Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: []corev1.Capability{"NET_BIND_SERVICE"}}},
		Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}}}
	pod.Spec.Containers = []corev1.Container{c}

	sb, err := m.Ensure(ctx, pod, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := m.Remove(ctx, pod); err != nil {
			t.Errorf("remove sandbox: %v", err)
		}
		if _, err := os.Stat(filepath.Join(m.o.Root, "pods", string(pod.UID))); !os.IsNotExist(err) {
			t.Errorf("pod directory (volumes) left after sandbox removal: %v", err)
		}
	}()
	port := serveInNetNS(t, sb.NetNSPath)

	vols := volumes.NewManager(m.o.Root, oneConfigMap{&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg"}, Data: map[string]string{"k": "from-configmap"}}}, zaptest.NewLogger(t))
	mounts, err := vols.Mounts(ctx, pod, &c)
	if err != nil {
		t.Fatal(err)
	}
	m.o.Volumes = vols // Remove (deferred above) cleans the volumes up

	script := strings.Join([]string{
		"echo host=$(hostname)",
		"echo etchostname=$(cat /etc/hostname)",
		"echo ids=$(id -u):$(id -g):$(id -G | tr ' ' ,)",
		"echo capbnd=$(grep CapBnd /proc/self/status | cut -f2)",
		"echo nnp=$(grep NoNewPrivs /proc/self/status | cut -f2)",
		"echo seccomp=$(grep '^Seccomp:' /proc/self/status | cut -f2)",
		"echo pid=$$",
		fmt.Sprintf("echo web=$(wget -qO- http://127.0.0.1:%d/)", port),
		"echo vol=$(cat /data/k)",
		"echo oom=$(cat /proc/self/oom_score_adj)",
		"(touch /x 2>/dev/null && echo rootfs=rw) || echo rootfs=ro",
		"sleep 2", // time for the host to read the container's cgroup
	}, "; ")
	sbOpts, err := m.SpecOpts(pod)
	if err != nil {
		t.Fatal(err)
	}
	secOpts, err := secopts.SpecOpts(pod, &c, ocispec.ImageConfig{})
	if err != nil {
		t.Fatal(err)
	}
	out, mem := runContainer(t, ctx, pod, append(append(sbOpts, oci.WithMounts(mounts),
		oci.WithProcessArgs("/bin/busybox", "sh", "-c", script)), secOpts...))

	want := map[string]string{
		"host": "runc-pod", "etchostname": "runc-pod", "ids": "1000:3000:3000,4000",
		"capbnd": "0000000000000400", "nnp": "1", "seccomp": "2", "web": "hello from the netns",
		"vol": "from-configmap", "oom": "999", "rootfs": "ro", // oom: Burstable without a memory request
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			got[k] = v
		}
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q (output:\n%s)", k, got[k], v, out)
		}
	}
	if mem != "67108864" {
		t.Errorf("memory limit of the container's cgroup = %q, want 64Mi", mem)
	}
	if got["pid"] == "1" || got["pid"] == "" {
		t.Errorf("pid = %q: the container did not join the pod's PID namespace (holder is PID 1)", got["pid"])
	}
}

// serveInNetNS starts an HTTP server listening on 127.0.0.1 inside the netns.
func serveInNetNS(t *testing.T, netns string) int {
	t.Helper()
	var ln net.Listener
	err := ns.WithNetNSPath(netns, func(ns.NetNS) error {
		var err error
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "hello from the netns")
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// runContainer writes a bundle with a busybox rootfs and the spec built from
// opts, runs it with runc in the foreground and returns its output and the
// memory limit of its cgroup, read from the host while it runs.
func runContainer(t *testing.T, ctx context.Context, pod *corev1.Pod, opts []oci.SpecOpts) (string, string) {
	t.Helper()
	bundle := t.TempDir()
	rootfs := filepath.Join(bundle, "rootfs")
	for _, d := range []string{"bin", "etc", "proc", "sys", "dev", "tmp", "data"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatalf("busybox-static is needed: %v", err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "bin/busybox"), bb, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"etc/hosts", "etc/resolv.conf", "etc/hostname"} {
		if err := os.WriteFile(filepath.Join(rootfs, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	id := fmt.Sprintf("podrun-test-%d", time.Now().UnixNano())
	spec, err := oci.GenerateSpec(ctx, nil, &containers.Container{ID: id},
		append([]oci.SpecOpts{oci.WithRootFSPath("rootfs")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	defer func() { _ = exec.Command("runc", "--root", state, "delete", "--force", id).Run() }()
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(cctx, "runc", "--root", state, "run", "--bundle", bundle, id)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	mem := readMemoryLimit(pod, id)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("runc run: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	return stdout.String(), mem
}

// readMemoryLimit polls the container's cgroup (v1 or v2) for its memory
// limit. runc creates the cgroup before it writes the limits, so an
// unlimited value is read again until the container is gone.
func readMemoryLimit(pod *corev1.Pod, id string) string {
	cg := secopts.PodCgroupParent(pod.UID) + "/" + id
	files := []string{"/sys/fs/cgroup/memory" + cg + "/memory.limit_in_bytes", "/sys/fs/cgroup" + cg + "/memory.max"}
	last := ""
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, f := range files {
			if data, err := os.ReadFile(f); err == nil {
				last = strings.TrimSpace(string(data))
				if last != "max" && len(last) < 19 { // not "unlimited" (2^63 rounded to pages)
					return last
				}
			}
		}
	}
	return last
}
