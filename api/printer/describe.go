package printer

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PodDescription is what `podctl describe pod` shows.
type PodDescription struct {
	Pod    *corev1.Pod
	Events []corev1.Event // the pod's events, any order
	// WaitingFor holds one line per blocker that holds the pod back now
	// (the "Waiting for" section); empty: the section is left out.
	WaitingFor []string
}

// describer writes kubectl's describe layout: "Key:\tvalue" lines at
// indentation levels, aligned by a tabwriter.
type describer struct {
	tw  *tabwriter.Writer
	now time.Time
}

func newDescriber(out io.Writer, now time.Time) *describer {
	return &describer{tw: tabwriter.NewWriter(out, 0, 8, 2, ' ', 0), now: now}
}

// line writes format at indentation level (two spaces per level).
func (d *describer) line(level int, format string, args ...any) {
	fmt.Fprintf(d.tw, strings.Repeat("  ", level)+format+"\n", args...)
}

// section writes a section's heading at level: "title:" when it has
// items (n > 0), else kubectl's "title:\t<none>". It reports whether the
// items follow.
func (d *describer) section(level int, title string, n int) bool {
	if n == 0 {
		d.line(level, "%s:\t<none>", title)
		return false
	}
	d.line(level, "%s:", title)
	return true
}

func (d *describer) flush() error { return d.tw.Flush() }

// DescribePod writes the kubectl-style description of a pod.
func DescribePod(out io.Writer, desc PodDescription, now time.Time) error {
	d := newDescriber(out, now)
	pod := desc.Pod
	d.podHeader(pod)
	d.containers("Init Containers", pod, pod.Spec.InitContainers, pod.Status.InitContainerStatuses)
	d.containers("Containers", pod, pod.Spec.Containers, pod.Status.ContainerStatuses)
	d.conditions(pod.Status.Conditions)
	d.volumes(pod.Spec.Volumes)
	d.waitingFor(desc.WaitingFor)
	d.events(desc.Events)
	return d.flush()
}

func (d *describer) podHeader(pod *corev1.Pod) {
	d.line(0, "Name:\t%s", pod.Name)
	d.line(0, "Namespace:\t%s", pod.Namespace)
	d.line(0, "Source:\t%s", Source(pod.Annotations))
	if pod.Spec.NodeName != "" {
		d.line(0, "Node:\t%s", pod.Spec.NodeName)
	}
	if pod.Status.StartTime != nil {
		d.line(0, "Start Time:\t%s", timestamp(*pod.Status.StartTime))
	}
	d.keyValues(0, "Labels", pod.Labels)
	d.keyValues(0, "Annotations", pod.Annotations)
	status := string(pod.Status.Phase)
	if pod.DeletionTimestamp != nil {
		status = fmt.Sprintf("Terminating (lasts %s)", Age(pod.DeletionTimestamp.Time, d.now))
		d.line(0, "Status:\t%s", status)
		if pod.DeletionGracePeriodSeconds != nil {
			d.line(0, "Termination Grace Period:\t%ds", *pod.DeletionGracePeriodSeconds)
		}
	} else {
		d.line(0, "Status:\t%s", status)
	}
	if pod.Status.Reason != "" {
		d.line(0, "Reason:\t%s", pod.Status.Reason)
	}
	if pod.Status.Message != "" {
		d.line(0, "Message:\t%s", pod.Status.Message)
	}
	d.line(0, "IP:\t%s", pod.Status.PodIP)
	if len(pod.Status.PodIPs) > 0 {
		d.line(0, "IPs:")
		for _, ip := range pod.Status.PodIPs {
			d.line(1, "IP:\t%s", ip.IP)
		}
	} else {
		d.line(0, "IPs:\t<none>")
	}
	for _, ref := range pod.OwnerReferences {
		if ref.Controller != nil && *ref.Controller {
			d.line(0, "Controlled By:\t%s/%s", ref.Kind, ref.Name)
		}
	}
}

// keyValues writes a map as kubectl does: the first pair beside the key,
// the others below it, sorted.
func (d *describer) keyValues(level int, key string, m map[string]string) {
	if len(m) == 0 {
		d.line(level, "%s:\t<none>", key)
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i == 0 {
			d.line(level, "%s:\t%s=%s", key, k, m[k])
			continue
		}
		d.line(level, "\t%s=%s", k, m[k])
	}
}

func (d *describer) conditions(conds []corev1.PodCondition) {
	if len(conds) == 0 {
		return
	}
	d.line(0, "Conditions:")
	d.line(1, "Type\tStatus")
	for _, c := range conds {
		d.line(1, "%s\t%s", c.Type, c.Status)
	}
}

// waitingFor is the "Waiting for" section: what holds the pod back now.
func (d *describer) waitingFor(lines []string) {
	if len(lines) == 0 {
		return
	}
	d.line(0, "Waiting for:")
	for _, l := range lines {
		d.line(1, "%s", l)
	}
}

// events writes the Events table, oldest first.
func (d *describer) events(evs []corev1.Event) {
	if !d.section(0, "Events", len(evs)) {
		return
	}
	evs = append([]corev1.Event(nil), evs...)
	SortEvents(evs)
	d.line(1, "Type\tReason\tAge\tFrom\tMessage")
	d.line(1, "----\t------\t----\t----\t-------")
	for i := range evs {
		ev := &evs[i]
		d.line(1, "%s\t%s\t%s\t%s\t%s", ev.Type, ev.Reason, eventLastSeen(ev, d.now), eventSource(ev), strings.TrimSpace(ev.Message))
	}
}

// timestamp is kubectl's describe time format.
func timestamp(t metav1.Time) string { return t.Format(time.RFC1123Z) }
