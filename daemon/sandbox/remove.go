package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/daemon/secopts"
)

// Remove tears the pod's sandbox down: CNI first (while the netns still
// exists, so plugins can clean up inside it), then the PID holder, the
// namespace mounts, the shared /dev/shm, the volumes (with Options.Volumes),
// the pod's /etc files and its cgroup parent. Containers must be gone
// already. Absent parts are fine, so Remove is idempotent.
func (m *Manager) Remove(ctx context.Context, pod *corev1.Pod) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, err := m.readRecord(pod)
	if err != nil {
		m.log.Warn("unreadable sandbox record; removing everything", zap.Error(err))
	}
	if err := m.teardown(ctx, pod, r); err != nil {
		return err
	}
	if m.o.Volumes != nil {
		if err := m.o.Volumes.Cleanup(ctx, pod); err != nil {
			return err
		}
	}
	for _, f := range []string{"etc-hosts", "resolv.conf", "hostname"} {
		if err := os.Remove(filepath.Join(m.podDir(pod), f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove pod file %s: %w", f, err)
		}
	}
	// The pod directory goes when the volumes and logs owners have emptied it.
	_ = os.Remove(m.podDir(pod))
	if err := secopts.RemovePodCgroup(pod.UID); err != nil {
		return err
	}
	m.log.Info("sandbox removed", zap.String("pod", pod.Namespace+"/"+pod.Name), zap.String("uid", string(pod.UID)))
	return nil
}

// teardown removes whatever of the sandbox exists. Without a record (a crash
// before it was written) it assumes the worst and removes every kind.
func (m *Manager) teardown(ctx context.Context, pod *corev1.Pod, r *record) error {
	dir := m.sandboxDir(pod)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if r == nil {
		r = &record{Pinned: []string{"net", "uts", "ipc"}, Shm: true,
			CNI: m.cniEnabled() && !pod.Spec.HostNetwork, HolderPID: readHolderPID(dir)}
	}
	if r.CNI && !m.cniEnabled() {
		// CNI was switched off since: the plugins cannot be run, so their
		// host-side state (IPAM lease, port mappings) stays behind.
		m.log.Warn("sandbox was set up with CNI, which is no longer configured; skipping CNI teardown",
			zap.String("pod", pod.Namespace+"/"+pod.Name))
	} else if r.CNI {
		netns := filepath.Join(dir, "net")
		if ok, _ := isNamespaceMount(netns); !ok {
			netns = ""
		}
		if err := m.cniTeardown(ctx, pod, netns); err != nil {
			return err
		}
	}
	if err := stopPIDHolder(dir, r.HolderPID); err != nil {
		return err
	}
	for _, k := range r.Pinned {
		if err := unpinNamespace(filepath.Join(dir, k)); err != nil {
			return err
		}
	}
	if r.Shm {
		if err := unmountAll(filepath.Join(dir, "shm")); err != nil {
			return err
		}
	}
	// RemoveAll cannot cross a mount we missed: unlinking a mount point fails
	// with EBUSY rather than deleting what is mounted there.
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove sandbox directory: %w", err)
	}
	return nil
}

func readHolderPID(dir string) int {
	data, err := os.ReadFile(filepath.Join(dir, "holder.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	return pid
}

// mountShm gives the pod one /dev/shm that all its containers share, as
// they share the IPC namespace (POSIX shared memory lives in /dev/shm).
func mountShm(dir string) error {
	p := filepath.Join(dir, "shm")
	if err := os.MkdirAll(p, 0o1777); err != nil {
		return fmt.Errorf("create pod shm directory: %w", err)
	}
	if err := unix.Mount("shm", p, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=1777,size=65536k"); err != nil {
		return fmt.Errorf("mount pod /dev/shm: %w", err)
	}
	return nil
}

// unmountAll removes every mount stacked on p and then p itself.
func unmountAll(p string) error {
	for i := 0; i < 8; i++ {
		err := unix.Unmount(p, unix.MNT_DETACH)
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
			break
		}
		if err != nil {
			return fmt.Errorf("unmount %s: %w", p, err)
		}
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", p, err)
	}
	return nil
}

// writePodFiles writes <root>/pods/<uid>/{etc-hosts,resolv.conf,hostname}.
func (m *Manager) writePodFiles(pod *corev1.Pod, podIPs []string) error {
	dir := m.podDir(pod)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("create pod directory: %w", err)
	}
	var hosts []byte
	var err error
	if pod.Spec.HostNetwork {
		h, err := os.ReadFile(m.hostHosts)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("read host /etc/hosts: %w", err)
		}
		hosts, err = renderHostNetworkHosts(h, pod.Spec.HostAliases)
		if err != nil {
			return err
		}
	} else if hosts, err = renderHosts(pod, podIPs); err != nil {
		return err
	}
	host, err := hostResolvConf(m.hostResolv, m.hostResolvUpstream)
	if err != nil {
		return err
	}
	resolv, err := renderResolvConf(podResolvConf(pod, host))
	if err != nil {
		return err
	}
	hostname := utsHostname(pod)
	if pod.Spec.HostNetwork {
		if hostname, err = os.Hostname(); err != nil {
			return fmt.Errorf("read host name: %w", err)
		}
	}
	if err := checkEtcField("hostname", "hostname", hostname); err != nil {
		return err
	}
	files := []struct {
		name string
		data []byte
	}{
		{"etc-hosts", hosts},
		{"resolv.conf", resolv},
		{"hostname", []byte(hostname + "\n")},
	}
	for _, f := range files {
		if err := writeFileAtomic(filepath.Join(dir, f.name), f.data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
