package sandbox

import (
	"context"
	"fmt"
	"net"
	"path/filepath"

	"github.com/containernetworking/plugins/pkg/ns"
	corev1 "k8s.io/api/core/v1"
)

// Dial connects to address from inside the pod's network namespace, so
// probes and hooks reach "localhost" of the pod and its pod IP. The socket
// is created on a thread switched into the pod's netns and stays there after
// the thread switches back; the connection is then used from anywhere.
func (m *Manager) Dial(ctx context.Context, pod *corev1.Pod, network, address string) (net.Conn, error) {
	// No Happy Eyeballs: its racing dials run on other goroutines, hence
	// other OS threads outside the pod's netns. With it off, every address
	// is tried in turn on this goroutine (name resolution may still run
	// elsewhere; it only reads the host's resolver configuration).
	d := net.Dialer{FallbackDelay: -1}
	if pod.Spec.HostNetwork {
		return d.DialContext(ctx, network, address)
	}
	path := filepath.Join(m.sandboxDir(pod), "net")
	var conn net.Conn
	err := ns.WithNetNSPath(path, func(ns.NetNS) error {
		var err error
		conn, err = d.DialContext(ctx, network, address)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("dial %s %s in pod %s/%s: %w", network, address, pod.Namespace, pod.Name, err)
	}
	return conn, nil
}
