// Package sandbox gives each pod the namespaces its containers share
// (network, IPC, UTS and, with shareProcessNamespace, PID), its /etc/hosts,
// /etc/resolv.conf and /etc/hostname, and its CNI network. There is no pause
// container: the namespaces are created on a throw-away OS thread and held by
// bind mounts under <state>/sandboxes/<uid>/, so they outlive every container
// and vanish with a reboot (R14).
package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/supervisor"
)

// Options configures a Manager.
type Options struct {
	Root  string // persistent state; pod files in <Root>/pods/<uid>/
	State string // runtime state; namespaces in <State>/sandboxes/<uid>/
	// CNIConfDir enables CNI networking; empty: loopback only. CNIBinDir is
	// a list of plugin directories separated by ':' (default
	// /opt/cni/bin:/usr/lib/cni).
	CNIConfDir, CNIBinDir string
	Logger                *zap.Logger
	// Volumes, when set, has its Cleanup called by Remove, so a pod's
	// volumes (tmpfs mounts included) go when its sandbox goes: at the end
	// of the pod, as the kubelet tears down a terminated pod's volumes. A
	// sandbox lost and re-created (R14, after a reboot) thus starts with
	// fresh emptyDirs. Nil: the caller cleans volumes up itself.
	Volumes VolumeCleaner
}

// VolumeCleaner removes a pod's volumes; *volumes.Manager is one.
type VolumeCleaner interface {
	Cleanup(ctx context.Context, pod *corev1.Pod) error
}

// Manager creates, checks and removes pod sandboxes.
type Manager struct {
	o   Options
	log *zap.Logger
	// mu serialises Ensure and Remove: both are rare and short, and a pod's
	// engine calls them one at a time anyway.
	mu sync.Mutex
	// hostResolv and hostHosts are the host files pods inherit; fields so
	// tests can point them elsewhere.
	hostResolv, hostResolvUpstream, hostHosts string
}

// record is what <state>/sandboxes/<uid>/sandbox.json holds; it is written
// last, so its presence means the sandbox was completely set up.
type record struct {
	Attempt   int32    `json:"attempt"`
	PodIPs    []string `json:"podIPs,omitempty"`
	HostIPs   []string `json:"hostIPs,omitempty"`
	Pinned    []string `json:"pinned,omitempty"` // namespace files: net, ipc, uts
	HolderPID int      `json:"holderPID,omitempty"`
	CNI       bool     `json:"cni,omitempty"`
	Shm       bool     `json:"shm,omitempty"`
}

// NewManager checks the directories and returns a Manager.
func NewManager(o Options) (*Manager, error) {
	if o.Root == "" || o.State == "" {
		return nil, errors.New("sandbox: Root and State are required")
	}
	if o.CNIConfDir != "" && o.CNIBinDir == "" {
		o.CNIBinDir = defaultCNIBinDirs
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if err := os.MkdirAll(filepath.Join(o.State, "sandboxes"), 0o700); err != nil {
		return nil, fmt.Errorf("sandbox: create state directory: %w", err)
	}
	return &Manager{
		o: o, log: o.Logger,
		hostResolv:         "/etc/resolv.conf",
		hostResolvUpstream: "/run/systemd/resolve/resolv.conf",
		hostHosts:          "/etc/hosts",
	}, nil
}

func (m *Manager) sandboxDir(pod *corev1.Pod) string {
	return filepath.Join(m.o.State, "sandboxes", string(pod.UID))
}

func (m *Manager) podDir(pod *corev1.Pod) string {
	return filepath.Join(m.o.Root, "pods", string(pod.UID))
}

// namespaceKinds lists the namespaces the pod gets of its own. hostNetwork
// implies the host's UTS namespace too, as in CRI runtimes.
func namespaceKinds(pod *corev1.Pod) []string {
	var kinds []string
	if !pod.Spec.HostNetwork {
		kinds = append(kinds, "net", "uts")
	}
	if !pod.Spec.HostIPC {
		kinds = append(kinds, "ipc")
	}
	return kinds
}

func sharesPID(pod *corev1.Pod) bool {
	return !pod.Spec.HostPID && pod.Spec.ShareProcessNamespace != nil && *pod.Spec.ShareProcessNamespace
}

func (m *Manager) readRecord(pod *corev1.Pod) (*record, error) {
	data, err := os.ReadFile(filepath.Join(m.sandboxDir(pod), "sandbox.json"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("read sandbox record: %w", err)
	}
	var r record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("decode sandbox record: %w", err)
	}
	return &r, nil
}

// intact reports whether everything the record names still exists.
func (m *Manager) intact(pod *corev1.Pod, r *record) (bool, error) {
	dir := m.sandboxDir(pod)
	for _, k := range r.Pinned {
		ok, err := isNamespaceMount(filepath.Join(dir, k))
		if err != nil || !ok {
			return false, err
		}
	}
	if r.HolderPID != 0 && !holderAlive(dir, r.HolderPID) {
		return false, nil
	}
	return true, nil
}

// Exists reports whether the pod's sandbox is still complete; false after a
// reboot emptied <state>, or when a namespace or the PID holder is gone.
func (m *Manager) Exists(ctx context.Context, pod *corev1.Pod) (bool, error) {
	r, err := m.readRecord(pod)
	if err != nil || r == nil {
		return false, err
	}
	return m.intact(pod, r)
}

func (r *record) sandbox() supervisor.Sandbox {
	sb := supervisor.Sandbox{Attempt: r.Attempt, HostIPs: r.HostIPs}
	if len(r.PodIPs) > 0 {
		sb.PodIP = r.PodIPs[0]
	}
	return sb
}

// Ensure returns the pod's sandbox, creating it when it does not exist (or
// exists only in part, e.g. after a reboot or a crash half-way).
func (m *Manager) Ensure(ctx context.Context, pod *corev1.Pod, attempt int32) (supervisor.Sandbox, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	log := m.log.With(zap.String("pod", pod.Namespace+"/"+pod.Name), zap.String("uid", string(pod.UID)))
	r, err := m.readRecord(pod)
	if err != nil {
		log.Warn("unreadable sandbox record; re-creating", zap.Error(err))
	}
	if r != nil {
		if ok, _ := m.intact(pod, r); ok {
			return m.withNetNSPath(pod, r.sandbox()), nil
		}
	}
	// Leftovers of an incomplete sandbox go first so nothing leaks.
	if err := m.teardown(ctx, pod, r); err != nil {
		return supervisor.Sandbox{}, err
	}
	r, err = m.create(ctx, pod, attempt)
	if err != nil {
		if terr := m.teardown(context.WithoutCancel(ctx), pod, r); terr != nil {
			log.Error("clean up after failed sandbox creation", zap.Error(terr))
		}
		return supervisor.Sandbox{}, err
	}
	log.Info("sandbox created", zap.Int32("attempt", attempt), zap.Strings("podIPs", r.PodIPs),
		zap.Strings("namespaces", r.Pinned), zap.Int("pidHolder", r.HolderPID))
	return m.withNetNSPath(pod, r.sandbox()), nil
}

func (m *Manager) withNetNSPath(pod *corev1.Pod, sb supervisor.Sandbox) supervisor.Sandbox {
	if !pod.Spec.HostNetwork {
		sb.NetNSPath = filepath.Join(m.sandboxDir(pod), "net")
	}
	return sb
}

// create builds a sandbox step by step, recording in r what exists so a
// failure can be undone; the record file is written last.
func (m *Manager) create(ctx context.Context, pod *corev1.Pod, attempt int32) (*record, error) {
	dir := m.sandboxDir(pod)
	r := &record{Attempt: attempt, HostIPs: hostIPs()}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return r, fmt.Errorf("create sandbox directory: %w", err)
	}
	kinds := namespaceKinds(pod)
	if err := createNamespaces(dir, kinds, utsHostname(pod)); err != nil {
		r.Pinned = kinds // some may be pinned; teardown handles absent ones
		return r, fmt.Errorf("create pod namespaces: %w", err)
	}
	r.Pinned = kinds
	if !pod.Spec.HostIPC {
		r.Shm = true
		if err := mountShm(dir); err != nil {
			return r, err
		}
	}
	if sharesPID(pod) {
		pid, err := startPIDHolder(dir)
		if err != nil {
			return r, err
		}
		r.HolderPID = pid
		if err := os.WriteFile(filepath.Join(dir, "holder.pid"), []byte(strconv.Itoa(pid)), 0o600); err != nil {
			return r, fmt.Errorf("record pid namespace holder: %w", err)
		}
	}
	switch {
	case pod.Spec.HostNetwork:
		r.PodIPs = r.HostIPs
	case m.cniEnabled():
		r.CNI = true
		ips, err := m.cniSetup(ctx, pod, filepath.Join(dir, "net"))
		if err != nil {
			return r, err
		}
		r.PodIPs = ips
	}
	if err := m.writePodFiles(pod, r.PodIPs); err != nil {
		return r, err
	}
	data, err := json.Marshal(r)
	if err != nil {
		return r, fmt.Errorf("encode sandbox record: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(dir, "sandbox.json"), data, 0o600); err != nil {
		return r, fmt.Errorf("record sandbox: %w", err)
	}
	return r, nil
}
