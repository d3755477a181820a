package containerd

import (
	"context"
	"fmt"
	"github.com/podrun/podrun/api"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/moby/sys/signal"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	corev1 "k8s.io/api/core/v1"
)

// processArgs applies Kubernetes' command/args over the image's
// ENTRYPOINT/CMD: command replaces the entrypoint and drops CMD, args alone
// replace CMD; both are $(VAR)-expanded against the container's env.
func processArgs(c *corev1.Container, img ocispec.ImageConfig, lookup func(string) (string, bool)) ([]string, error) {
	var args []string
	switch {
	case len(c.Command) > 0:
		args = append(expandAll(c.Command, lookup), expandAll(c.Args, lookup)...)
	case len(c.Args) > 0:
		args = append(append(args, img.Entrypoint...), expandAll(c.Args, lookup)...)
	default:
		args = append(append(args, img.Entrypoint...), img.Cmd...)
	}
	if len(args) == 0 {
		return nil, fmt.Errorf("no command specified: the image has no ENTRYPOINT or CMD and the container no command")
	}
	return args, nil
}

func expandAll(in []string, lookup func(string) (string, bool)) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = api.Expand(s, lookup)
	}
	return out
}

// stopSignal is lifecycle.stopSignal, else the image's STOPSIGNAL, else
// SIGTERM (R58 step 6).
func stopSignal(c *corev1.Container, img ocispec.ImageConfig) (syscall.Signal, error) {
	name := img.StopSignal
	if c.Lifecycle != nil && c.Lifecycle.StopSignal != nil {
		name = string(*c.Lifecycle.StopSignal)
	}
	if name == "" {
		return syscall.SIGTERM, nil
	}
	sig, err := signal.ParseSignal(name)
	if err != nil {
		return 0, fmt.Errorf("stop signal %q: %w", name, err)
	}
	return sig, nil
}

// withProcessArgs sets the process argv, replacing the image's.
func withProcessArgs(args []string) oci.SpecOpts { return oci.WithProcessArgs(args...) }

// withContainerEnv puts the container's env over the image's (same names
// are replaced).
func withContainerEnv(env []string) oci.SpecOpts { return oci.WithEnv(env) }

// withHostnameEnv sets HOSTNAME as containerd's CRI does, before the
// image's and the container's env (which may override it).
func withHostnameEnv(pod *corev1.Pod) oci.SpecOpts {
	return oci.WithEnv([]string{"HOSTNAME=" + podHostname(pod)})
}

// podHostname is the kubelet's: spec.hostname, else the pod name (at most
// 63 characters); the node's name with hostNetwork.
func podHostname(pod *corev1.Pod) string {
	if pod.Spec.HostNetwork {
		if h, err := os.Hostname(); err == nil {
			return h
		}
	}
	h := pod.Spec.Hostname
	if h == "" {
		h = pod.Name
	}
	if len(h) > 63 {
		h = strings.TrimRight(h[:63], "-.")
	}
	return h
}

// withWorkingDir sets workingDir when the container has one; else the
// image's WORKDIR (or /) stays.
func withWorkingDir(dir string) oci.SpecOpts {
	return func(ctx context.Context, cl oci.Client, c *containers.Container, s *oci.Spec) error {
		if dir == "" {
			return nil
		}
		return oci.WithProcessCwd(dir)(ctx, cl, c, s)
	}
}

// withTTY gives the process a terminal when the container asks for one.
func withTTY(tty bool) oci.SpecOpts {
	return func(ctx context.Context, cl oci.Client, c *containers.Container, s *oci.Spec) error {
		if !tty {
			return nil
		}
		return oci.WithTTY(ctx, cl, c, s)
	}
}

// withTerminationLog bind-mounts the instance's termination-log file at
// terminationMessagePath (R86a).
func withTerminationLog(hostPath, containerPath string) oci.SpecOpts {
	if containerPath == "" {
		containerPath = corev1.TerminationMessagePathDefault
	}
	return oci.WithMounts([]specs.Mount{{
		Destination: containerPath,
		Type:        "bind",
		Source:      hostPath,
		Options:     []string{"rbind", "rw"},
	}})
}

// withVolumeMounts adds the pod's volume mounts for the container.
func withVolumeMounts(mounts []specs.Mount) oci.SpecOpts { return oci.WithMounts(mounts) }

// shimGroupAnnotation makes containerd's runc v2 shim serve every
// container carrying the same value from one process, as the CRI plugin
// groups a sandbox's containers. Every shim is a Go process of a few MiB
// of PSS; one per pod instead of one per container is most of podrun's
// memory per pod (BENCHMARKS.md, "Where the time and the memory go").
const shimGroupAnnotation = "io.containerd.runc.v2.group"

// shimGroup is the shim group of a container of the pod with uid: the
// pod's own, or with Options.ShimPerNode one for every pod of the
// namespace. The shim hashes its socket address from containerd's
// address, the namespace and this value, so the node group of another
// podrund (another namespace) is another shim anyway; the namespace in
// the value says so to whoever reads the bundle.
func (r *Runtime) shimGroup(podUID string) string {
	if r.opts.ShimPerNode {
		return "podrun-node-" + r.ns
	}
	return "podrun-" + podUID
}

// withAnnotations records the instance's identity in the OCI spec for
// tools that only read the bundle, and names the shim group the
// container joins.
func withAnnotations(labels map[string]string, shimGroup string) oci.SpecOpts {
	return oci.WithAnnotations(map[string]string{
		shimGroupAnnotation: shimGroup,
		labelPodUID:         labels[labelPodUID],
		labelPodName:        labels[labelPodName],
		labelPodNamespace:   labels[labelPodNamespace],
		labelContainerName:  labels[labelContainerName],
		labelAttempt:        labels[labelAttempt],
	})
}

func itoa(i int32) string { return strconv.FormatInt(int64(i), 10) }
