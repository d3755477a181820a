package sandbox

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	"go.uber.org/zap/zaptest"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// newTestManager returns a Manager on temporary directories and registers a
// check that no mount under them outlives the test.
func newTestManager(t *testing.T, o Options) *Manager {
	t.Helper()
	base := t.TempDir()
	o.Root, o.State = filepath.Join(base, "root"), filepath.Join(base, "state")
	o.Logger = zaptest.NewLogger(t)
	m, err := NewManager(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if left := mountsUnder(t, base); len(left) > 0 {
			t.Errorf("mounts left behind: %v", left)
			for _, p := range left {
				_ = unix.Unmount(p, unix.MNT_DETACH)
			}
		}
	})
	return m
}

func mountsUnder(t *testing.T, dir string) []string {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && strings.HasPrefix(fields[4], dir) {
			out = append(out, fields[4])
		}
	}
	return out
}

// inNamespace runs fn on a locked thread switched into the namespace file.
func inNamespace(t *testing.T, path string, nstype int, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/" + map[int]string{unix.CLONE_NEWUTS: "uts", unix.CLONE_NEWNET: "net"}[nstype])
		if err != nil {
			t.Error(err)
			return
		}
		defer orig.Close()
		target, err := os.Open(path)
		if err != nil {
			t.Error(err)
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), nstype); err != nil {
			t.Error(err)
			return
		}
		fn()
		if err := unix.Setns(int(orig.Fd()), nstype); err != nil {
			t.Error(err) // thread stays locked and dies
			return
		}
		runtime.UnlockOSThread()
	}()
	<-done
}

func TestSandboxLifecycle(t *testing.T) {
	ctx := context.Background()
	m := newTestManager(t, Options{})
	pod := testPod("lifecycle")
	pod.UID = types.UID("11111111-2222-3333-4444-555555555555")
	pod.Spec.Hostname = "inside"
	share := true
	pod.Spec.ShareProcessNamespace = &share

	if ok, err := m.Exists(ctx, pod); err != nil || ok {
		t.Fatalf("Exists before Ensure = %v, %v", ok, err)
	}
	sb, err := m.Ensure(ctx, pod, 3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Remove(context.Background(), pod) }) // even when the test fails half-way
	if sb.Attempt != 3 || sb.PodIP != "" || sb.NetNSPath != filepath.Join(m.sandboxDir(pod), "net") {
		t.Fatalf("sandbox %+v", sb)
	}
	dir := m.sandboxDir(pod)
	for _, k := range []string{"net", "ipc", "uts", "pid"} {
		if ok, err := isNamespaceMount(filepath.Join(dir, k)); err != nil || !ok {
			t.Fatalf("%s not pinned: %v %v", k, ok, err)
		}
	}
	// Idempotent: a second Ensure returns the same sandbox.
	again, err := m.Ensure(ctx, pod, 4)
	if err != nil || again.Attempt != 3 {
		t.Fatalf("second Ensure = %+v, %v", again, err)
	}
	if ok, err := m.Exists(ctx, pod); err != nil || !ok {
		t.Fatalf("Exists = %v, %v", ok, err)
	}

	inNamespace(t, filepath.Join(dir, "uts"), unix.CLONE_NEWUTS, func() {
		var u unix.Utsname
		if err := unix.Uname(&u); err != nil {
			t.Error(err)
		}
		if got := unix.ByteSliceToString(u.Nodename[:]); got != "inside" {
			t.Errorf("hostname in pod uts ns = %q", got)
		}
	})
	inNamespace(t, filepath.Join(dir, "net"), unix.CLONE_NEWNET, func() {
		got, err := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start")
		if err != nil || strings.TrimSpace(string(got)) != "0" {
			t.Errorf("ip_unprivileged_port_start in pod netns = %q, %v", got, err)
		}
	})
	if host, _ := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start"); strings.TrimSpace(string(host)) == "0" {
		t.Errorf("the host's ip_unprivileged_port_start was changed")
	}
	checkPodFiles(t, m, pod)
	checkSharedPID(t, dir)
	checkDial(t, m, pod)

	r, _ := m.readRecord(pod)
	if err := m.Remove(ctx, pod); err != nil {
		t.Fatal(err)
	}
	if ok, err := m.Exists(ctx, pod); err != nil || ok {
		t.Fatalf("Exists after Remove = %v, %v", ok, err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("sandbox dir still there: %v", err)
	}
	if err := unix.Kill(r.HolderPID, 0); err == nil && holderAliveByCmdline(r.HolderPID) {
		t.Fatalf("pid namespace holder %d still running", r.HolderPID)
	}
	if err := m.Remove(ctx, pod); err != nil {
		t.Fatalf("second Remove: %v", err)
	}
}

func holderAliveByCmdline(pid int) bool {
	env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	return err == nil && strings.Contains(string(env), holderEnv)
}

func checkPodFiles(t *testing.T, m *Manager, pod *corev1.Pod) {
	t.Helper()
	hosts, err := os.ReadFile(filepath.Join(m.podDir(pod), "etc-hosts"))
	if err != nil || !strings.Contains(string(hosts), "127.0.1.1\tinside\n") {
		t.Errorf("etc-hosts: %q %v", hosts, err)
	}
	hn, err := os.ReadFile(filepath.Join(m.podDir(pod), "hostname"))
	if err != nil || string(hn) != "inside\n" {
		t.Errorf("hostname file: %q %v", hn, err)
	}
	if _, err := os.Stat(filepath.Join(m.podDir(pod), "resolv.conf")); err != nil {
		t.Error(err)
	}
}

// checkSharedPID proves the pinned PID namespace can be joined: a process
// entering it sees the holder as PID 1 and itself as a later PID.
func checkSharedPID(t *testing.T, dir string) {
	t.Helper()
	out, err := exec.Command("nsenter", "--pid="+filepath.Join(dir, "pid"), "--", "/bin/sh", "-c", "echo $$").CombinedOutput()
	if err != nil {
		t.Fatalf("join pod pid ns: %v: %s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got == "1" || got == "" {
		t.Fatalf("pid inside pod pid ns = %q, want > 1", got)
	}
}

// serveLineInNetNS listens on TCP addr inside the network namespace at
// nsPath and answers every connection with line; the listener is closed at
// test cleanup.
func serveLineInNetNS(t *testing.T, nsPath, addr, line string) net.Listener {
	t.Helper()
	var ln net.Listener
	err := ns.WithNetNSPath(nsPath, func(ns.NetNS) error {
		var err error
		ln, err = net.Listen("tcp", addr)
		return err
	})
	if err != nil {
		t.Fatalf("listen on %s in %s: %v", addr, nsPath, err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = io.WriteString(c, line)
			c.Close()
		}
	}()
	return ln
}

// checkDial starts a listener inside the pod's netns: Dial reaches it on
// 127.0.0.1, the host does not.
func checkDial(t *testing.T, m *Manager, pod *corev1.Pod) {
	t.Helper()
	ln := serveLineInNetNS(t, filepath.Join(m.sandboxDir(pod), "net"), "127.0.0.1:0", "hello from the pod\n")
	defer ln.Close() // before the sandbox goes: the socket holds the netns
	addr := ln.Addr().String()
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatalf("host reached %s: the listener is not isolated", addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// By address and by name: "localhost" may resolve to ::1 and 127.0.0.1,
	// and every attempt must be made from inside the pod.
	for _, a := range []string{addr, net.JoinHostPort("localhost", strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))} {
		c, err := m.Dial(ctx, pod, "tcp", a)
		if err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if err != nil || line != "hello from the pod\n" {
			t.Fatalf("read from %s: %q, %v", a, line, err)
		}
	}
}

func TestHostNamespacesPod(t *testing.T) {
	ctx := context.Background()
	m := newTestManager(t, Options{})
	pod := testPod("hostnet")
	pod.UID = "host-ns-pod"
	pod.Spec.HostNetwork, pod.Spec.HostIPC = true, true
	pod.Spec.HostAliases = []corev1.HostAlias{{IP: "192.0.2.1", Hostnames: []string{"alias"}}}
	sb, err := m.Ensure(ctx, pod, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Remove(context.Background(), pod) }) // even when the test fails half-way
	if sb.NetNSPath != "" || sb.PodIP == "" || len(sb.HostIPs) == 0 || sb.PodIP != sb.HostIPs[0] {
		t.Fatalf("hostNetwork sandbox %+v", sb)
	}
	if ok, err := m.Exists(ctx, pod); err != nil || !ok {
		t.Fatalf("Exists = %v %v", ok, err)
	}
	if left := mountsUnder(t, m.sandboxDir(pod)); len(left) != 0 {
		t.Fatalf("host-namespace pod has mounts %v", left)
	}
	hosts, _ := os.ReadFile(filepath.Join(m.podDir(pod), "etc-hosts"))
	if !strings.Contains(string(hosts), "host network") || !strings.Contains(string(hosts), "192.0.2.1\talias") {
		t.Fatalf("hostNetwork etc-hosts %q", hosts)
	}
	hn, _ := os.Hostname()
	if got, _ := os.ReadFile(filepath.Join(m.podDir(pod), "hostname")); string(got) != hn+"\n" {
		t.Fatalf("hostname file %q, host %q", got, hn)
	}
	c, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	conn, err := m.Dial(ctx, pod, "tcp", c.Addr().String())
	if err != nil {
		t.Fatalf("hostNetwork dial: %v", err)
	}
	conn.Close()
	if err := m.Remove(ctx, pod); err != nil {
		t.Fatal(err)
	}
}
