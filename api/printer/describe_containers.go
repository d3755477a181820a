package printer

import (
	"fmt"
	"net"
	"net/url"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// containers writes the Init Containers or Containers section; sidecars
// (init containers with restartPolicy Always) are marked as such.
func (d *describer) containers(title string, pod *corev1.Pod, specs []corev1.Container, statuses []corev1.ContainerStatus) {
	if len(specs) == 0 {
		return
	}
	byName := map[string]corev1.ContainerStatus{}
	for _, st := range statuses {
		byName[st.Name] = st
	}
	d.line(0, "%s:", title)
	for i := range specs {
		c := &specs[i]
		d.containerHeading(1, c)
		st, ok := byName[c.Name]
		if ok && st.ContainerID != "" {
			d.line(2, "Container ID:\t%s", st.ContainerID)
		}
		d.line(2, "Image:\t%s", c.Image)
		if ok && st.ImageID != "" {
			d.line(2, "Image ID:\t%s", st.ImageID)
		}
		d.ports(c.Ports)
		d.stringList("Command", c.Command)
		d.stringList("Args", c.Args)
		if ok {
			d.state("State", st.State)
			if st.LastTerminationState.Terminated != nil {
				d.state("Last State", st.LastTerminationState)
			}
			d.line(2, "Ready:\t%s", titleBool(st.Ready))
			d.line(2, "Restart Count:\t%d", st.RestartCount)
		}
		d.resources(c.Resources)
		d.probe("Liveness", c.LivenessProbe)
		d.probe("Readiness", c.ReadinessProbe)
		d.probe("Startup", c.StartupProbe)
		d.env(c)
		d.mounts(c.VolumeMounts)
	}
}

// containerHeading starts a container's section: its name, marked when it
// is a native sidecar (an init container with restartPolicy Always).
func (d *describer) containerHeading(depth int, c *corev1.Container) {
	if isSidecar(c) {
		d.line(depth, "%s (sidecar):", c.Name)
	} else {
		d.line(depth, "%s:", c.Name)
	}
}

func (d *describer) ports(ports []corev1.ContainerPort) {
	if len(ports) == 0 {
		d.line(2, "Port:\t<none>")
		return
	}
	var ps []string
	for _, p := range ports {
		ps = append(ps, fmt.Sprintf("%d/%s", p.ContainerPort, protocolOf(p.Protocol)))
	}
	d.line(2, "Port:\t%s", strings.Join(ps, ", "))
}

func protocolOf(p corev1.Protocol) string {
	if p == "" {
		return "TCP"
	}
	return string(p)
}

func (d *describer) stringList(key string, items []string) {
	if len(items) == 0 {
		return
	}
	d.line(2, "%s:", key)
	for _, it := range items {
		for _, l := range strings.Split(it, "\n") {
			d.line(3, "%s", l)
		}
	}
}

func (d *describer) state(key string, s corev1.ContainerState) {
	switch {
	case s.Running != nil:
		d.line(2, "%s:\tRunning", key)
		d.line(3, "Started:\t%s", timestamp(s.Running.StartedAt))
	case s.Terminated != nil:
		t := s.Terminated
		d.line(2, "%s:\tTerminated", key)
		if t.Reason != "" {
			d.line(3, "Reason:\t%s", t.Reason)
		}
		if t.Message != "" {
			d.line(3, "Message:\t%s", strings.TrimSpace(t.Message))
		}
		d.line(3, "Exit Code:\t%d", t.ExitCode)
		if t.Signal > 0 {
			d.line(3, "Signal:\t%d", t.Signal)
		}
		d.line(3, "Started:\t%s", timestamp(t.StartedAt))
		d.line(3, "Finished:\t%s", timestamp(t.FinishedAt))
	default:
		d.line(2, "%s:\tWaiting", key)
		if s.Waiting != nil && s.Waiting.Reason != "" {
			d.line(3, "Reason:\t%s", s.Waiting.Reason)
		}
		if s.Waiting != nil && s.Waiting.Message != "" {
			d.line(3, "Message:\t%s", s.Waiting.Message)
		}
	}
}

func (d *describer) resources(r corev1.ResourceRequirements) {
	for _, part := range []struct {
		key string
		rl  corev1.ResourceList
	}{{"Limits", r.Limits}, {"Requests", r.Requests}} {
		if len(part.rl) == 0 {
			continue
		}
		d.line(2, "%s:", part.key)
		names := make([]string, 0, len(part.rl))
		for n := range part.rl {
			names = append(names, string(n))
		}
		sort.Strings(names)
		for _, n := range names {
			q := part.rl[corev1.ResourceName(n)]
			d.line(3, "%s:\t%s", n, q.String())
		}
	}
}

func (d *describer) probe(kind string, p *corev1.Probe) {
	if p == nil {
		return
	}
	d.line(2, "%s:\t%s", kind, DescribeProbe(p))
}

// DescribeProbe is kubectl's one-line probe summary, e.g.
// "exec [cat /tmp/healthy] delay=0s timeout=1s period=10s #success=1 #failure=3".
func DescribeProbe(p *corev1.Probe) string {
	attrs := fmt.Sprintf("delay=%ds timeout=%ds period=%ds #success=%d #failure=%d",
		p.InitialDelaySeconds, p.TimeoutSeconds, p.PeriodSeconds, p.SuccessThreshold, p.FailureThreshold)
	switch {
	case p.Exec != nil:
		return fmt.Sprintf("exec %v %s", p.Exec.Command, attrs)
	case p.HTTPGet != nil:
		u := &url.URL{Scheme: strings.ToLower(string(p.HTTPGet.Scheme)), Path: p.HTTPGet.Path}
		if u.Scheme == "" {
			u.Scheme = "http"
		}
		u.Host = net.JoinHostPort(p.HTTPGet.Host, p.HTTPGet.Port.String())
		return fmt.Sprintf("http-get %s %s", u, attrs)
	case p.TCPSocket != nil:
		return fmt.Sprintf("tcp-socket %s:%s %s", p.TCPSocket.Host, p.TCPSocket.Port.String(), attrs)
	case p.GRPC != nil:
		svc := ""
		if p.GRPC.Service != nil {
			svc = *p.GRPC.Service
		}
		return fmt.Sprintf("grpc <pod>:%d %s %s", p.GRPC.Port, svc, attrs)
	}
	return "unknown " + attrs
}

func (d *describer) env(c *corev1.Container) {
	if d.section(2, "Environment", len(c.Env)) {
		for _, e := range c.Env {
			d.line(3, "%s:\t%s", e.Name, envValue(e))
		}
	}
	if len(c.EnvFrom) == 0 {
		return
	}
	d.line(2, "Environment Variables from:")
	for _, f := range c.EnvFrom {
		switch {
		case f.ConfigMapRef != nil:
			d.line(3, "%s\tConfigMap with prefix '%s'\tOptional: %t", f.ConfigMapRef.Name, f.Prefix, optional(f.ConfigMapRef.Optional))
		case f.SecretRef != nil:
			d.line(3, "%s\tSecret with prefix '%s'\tOptional: %t", f.SecretRef.Name, f.Prefix, optional(f.SecretRef.Optional))
		}
	}
}

func envValue(e corev1.EnvVar) string {
	src := e.ValueFrom
	switch {
	case src == nil:
		return e.Value
	case src.ConfigMapKeyRef != nil:
		r := src.ConfigMapKeyRef
		return fmt.Sprintf("<set to the key '%s' of config map '%s'>\tOptional: %t", r.Key, r.Name, optional(r.Optional))
	case src.SecretKeyRef != nil:
		r := src.SecretKeyRef
		return fmt.Sprintf("<set to the key '%s' in secret '%s'>\tOptional: %t", r.Key, r.Name, optional(r.Optional))
	case src.FieldRef != nil:
		return fmt.Sprintf("(%s:%s)", src.FieldRef.APIVersion, src.FieldRef.FieldPath)
	case src.ResourceFieldRef != nil:
		return fmt.Sprintf("%s (%s)", src.ResourceFieldRef.Resource, src.ResourceFieldRef.ContainerName)
	}
	return ""
}

func optional(b *bool) bool { return b != nil && *b }

func (d *describer) mounts(ms []corev1.VolumeMount) {
	if !d.section(2, "Mounts", len(ms)) {
		return
	}
	for _, m := range ms {
		flags := []string{"rw"}
		if m.ReadOnly {
			flags[0] = "ro"
		}
		if m.SubPath != "" {
			flags = append(flags, fmt.Sprintf("path=%q", m.SubPath))
		}
		d.line(3, "%s from %s (%s)", m.MountPath, m.Name, strings.Join(flags, ","))
	}
}

func (d *describer) volumes(vols []corev1.Volume) {
	if !d.section(0, "Volumes", len(vols)) {
		return
	}
	for _, v := range vols {
		d.line(1, "%s:", v.Name)
		s := v.VolumeSource
		switch {
		case s.EmptyDir != nil:
			d.line(2, "Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)")
			d.line(2, "Medium:\t%s", s.EmptyDir.Medium)
			if s.EmptyDir.SizeLimit != nil {
				d.line(2, "SizeLimit:\t%s", s.EmptyDir.SizeLimit.String())
			} else {
				d.line(2, "SizeLimit:\t<unset>")
			}
		case s.HostPath != nil:
			d.line(2, "Type:\tHostPath (bare host directory volume)")
			d.line(2, "Path:\t%s", s.HostPath.Path)
			if s.HostPath.Type != nil {
				d.line(2, "HostPathType:\t%s", *s.HostPath.Type)
			}
		case s.ConfigMap != nil:
			d.line(2, "Type:\tConfigMap (a volume populated by a ConfigMap)")
			d.line(2, "Name:\t%s", s.ConfigMap.Name)
			d.line(2, "Optional:\t%t", optional(s.ConfigMap.Optional))
		case s.Secret != nil:
			d.line(2, "Type:\tSecret (a volume populated by a Secret)")
			d.line(2, "SecretName:\t%s", s.Secret.SecretName)
			d.line(2, "Optional:\t%t", optional(s.Secret.Optional))
		case s.Projected != nil:
			d.line(2, "Type:\tProjected (a volume that contains injected data from multiple sources)")
		case s.DownwardAPI != nil:
			d.line(2, "Type:\tDownwardAPI (a volume populated by information about the pod)")
		default:
			d.line(2, "Type:\t<unknown>")
		}
	}
}

// titleBool prints a bool as kubectl's describe does: True or False.
func titleBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}
