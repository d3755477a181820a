package printer

import (
	"fmt"
	"sort"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podrun/podrun/api"
)

// columns describe the table of one kind: every column as the API
// server's table printers define it (kubectl prints the names in
// capitals; Priority 1 columns only with -o wide), and a row of cells,
// one per column. wide asks for the -o wide form of a cell where it
// differs (an event's LAST SEEN).
type columns struct {
	defs       []metav1.TableColumnDefinition
	namespaced bool
	row        func(obj any, now time.Time, wide bool) []string
}

// col is a column with its OpenAPI type; wide columns have priority 1.
func col(name, typ string, wide bool) metav1.TableColumnDefinition {
	c := metav1.TableColumnDefinition{Name: name, Type: typ}
	if name == "Name" {
		c.Format = "name"
	}
	if wide {
		c.Priority = 1
	}
	return c
}

// cols builds the definitions from names: those from index wideFrom on
// are -o wide ones (none when it is negative); the columns named in ints
// are integers.
func cols(names []string, wideFrom int, ints ...string) []metav1.TableColumnDefinition {
	out := make([]metav1.TableColumnDefinition, 0, len(names))
	for i, n := range names {
		typ := "string"
		for _, in := range ints {
			if in == n {
				typ = "integer"
			}
		}
		out = append(out, col(n, typ, wideFrom >= 0 && i >= wideFrom))
	}
	return out
}

func columnsFor(obj any) (columns, error) {
	switch obj.(type) {
	case *corev1.Pod:
		return podColumnsDef(), nil
	case *batchv1.Job:
		return jobColumns(), nil
	case *batchv1.CronJob:
		return cronJobColumns(), nil
	case *corev1.ConfigMap:
		return columns{cols([]string{"Name", "Data", "Age"}, -1, "Data"), true, func(o any, now time.Time, _ bool) []string {
			cm := o.(*corev1.ConfigMap)
			return []string{cm.Name, fmt.Sprint(len(cm.Data) + len(cm.BinaryData)), ageOf(cm.CreationTimestamp, now)}
		}}, nil
	case *corev1.Secret:
		return columns{cols([]string{"Name", "Type", "Data", "Age"}, -1, "Data"), true, func(o any, now time.Time, _ bool) []string {
			s := o.(*corev1.Secret)
			return []string{s.Name, string(s.Type), fmt.Sprint(len(s.Data)), ageOf(s.CreationTimestamp, now)}
		}}, nil
	case *corev1.Namespace:
		return columns{cols([]string{"Name", "Status", "Age"}, -1), false, func(o any, now time.Time, _ bool) []string {
			ns := o.(*corev1.Namespace)
			return []string{ns.Name, string(ns.Status.Phase), ageOf(ns.CreationTimestamp, now)}
		}}, nil
	case *corev1.Event:
		return eventColumns(), nil
	case *api.Image:
		return columns{cols([]string{"Name", "ID", "Size"}, -1), false, func(o any, _ time.Time, _ bool) []string {
			img := o.(*api.Image)
			return []string{img.Name, ShortID(img.ID), HumanSize(img.Size)}
		}}, nil
	}
	return columns{}, fmt.Errorf("no table for objects of type %T", obj)
}

// shown are the indexes of the columns a table shows: all with wide,
// else those of priority 0.
func (c columns) shown(wide bool) []int {
	var out []int
	for i, d := range c.defs {
		if wide || d.Priority == 0 {
			out = append(out, i)
		}
	}
	return out
}

func podColumnsDef() columns {
	defs := cols([]string{"Name", "Ready", "Status", "Restarts", "Age", "IP", "Node", "Nominated Node", "Readiness Gates", "Source"}, 5)
	return columns{defs, true, func(o any, now time.Time, _ bool) []string {
		pod := o.(*corev1.Pod)
		ready, status, restarts := podStatusColumns(pod, now)
		return []string{pod.Name, ready, status, restarts, ageOf(pod.CreationTimestamp, now),
			orNone(pod.Status.PodIP), orNone(pod.Spec.NodeName), orNone(pod.Status.NominatedNodeName), readinessGates(pod),
			Source(pod.Annotations)}
	}}
}

// Source is where an object comes from, for the wide SOURCE column and
// describe: the manifest file that owns it, else "api".
func Source(annotations map[string]string) string {
	if f := api.ManifestFile(annotations); f != "" {
		return "file " + f
	}
	return "api"
}

func readinessGates(pod *corev1.Pod) string {
	if len(pod.Spec.ReadinessGates) == 0 {
		return "<none>"
	}
	ready := 0
	for _, g := range pod.Spec.ReadinessGates {
		for _, c := range pod.Status.Conditions {
			if c.Type == g.ConditionType && c.Status == corev1.ConditionTrue {
				ready++
			}
		}
	}
	return fmt.Sprintf("%d/%d", ready, len(pod.Spec.ReadinessGates))
}

func jobColumns() columns {
	defs := cols([]string{"Name", "Status", "Completions", "Duration", "Age", "Containers", "Images", "Selector", "Source"}, 5)
	return columns{defs, true, func(o any, now time.Time, _ bool) []string {
		job := o.(*batchv1.Job)
		names, images := containerCells(job.Spec.Template.Spec.Containers)
		return []string{job.Name, JobStatus(job), jobCompletions(job), jobDuration(job, now), ageOf(job.CreationTimestamp, now),
			names, images, selectorString(job.Spec.Selector), Source(job.Annotations)}
	}}
}

// JobStatus is kubectl's STATUS column of a Job.
func JobStatus(job *batchv1.Job) string {
	switch {
	case jobCondition(job, batchv1.JobComplete):
		return "Complete"
	case jobCondition(job, batchv1.JobFailed):
		return "Failed"
	case job.DeletionTimestamp != nil:
		return "Terminating"
	case jobCondition(job, batchv1.JobSuspended):
		return "Suspended"
	case jobCondition(job, batchv1.JobFailureTarget):
		return "FailureTarget"
	}
	return "Running"
}

func jobCondition(job *batchv1.Job, t batchv1.JobConditionType) bool {
	for _, c := range job.Status.Conditions {
		if c.Type == t && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

func jobCompletions(job *batchv1.Job) string {
	if job.Spec.Completions != nil {
		return fmt.Sprintf("%d/%d", job.Status.Succeeded, *job.Spec.Completions)
	}
	if job.Spec.Parallelism != nil && *job.Spec.Parallelism > 1 {
		return fmt.Sprintf("%d/1 of %d", job.Status.Succeeded, *job.Spec.Parallelism)
	}
	return fmt.Sprintf("%d/1", job.Status.Succeeded)
}

func jobDuration(job *batchv1.Job, now time.Time) string {
	switch {
	case job.Status.StartTime == nil:
		return ""
	case job.Status.CompletionTime == nil:
		return humanDuration(now.Sub(job.Status.StartTime.Time))
	}
	return humanDuration(job.Status.CompletionTime.Sub(job.Status.StartTime.Time))
}

func selectorString(s *metav1.LabelSelector) string {
	if s == nil {
		return "<none>"
	}
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil || sel.Empty() {
		return "<none>"
	}
	return sel.String()
}

func eventColumns() columns {
	defs := cols([]string{"Last Seen", "Type", "Reason", "Object", "Subobject", "Source", "Message", "First Seen", "Count", "Name"}, -1, "Count")
	for _, i := range []int{4, 5, 7, 8, 9} {
		defs[i].Priority = 1
	}
	return columns{defs, true, func(o any, now time.Time, wide bool) []string {
		ev := o.(*corev1.Event)
		obj := strings.ToLower(ev.InvolvedObject.Kind) + "/" + ev.InvolvedObject.Name
		lastSeen := Age(eventLast(ev), now)
		if !wide {
			lastSeen = eventLastSeen(ev, now)
		}
		return []string{lastSeen, ev.Type, ev.Reason, obj, ev.InvolvedObject.FieldPath,
			eventSource(ev), strings.TrimSpace(ev.Message), Age(eventFirst(ev), now), fmt.Sprint(ev.Count), ev.Name}
	}}
}

// eventLastSeen is "5m" or, for a repeated event, "5m (x3 over 10m)".
func eventLastSeen(ev *corev1.Event, now time.Time) string {
	last := Age(eventLast(ev), now)
	if ev.Count > 1 {
		return fmt.Sprintf("%s (x%d over %s)", last, ev.Count, Age(eventFirst(ev), now))
	}
	return last
}

func eventLast(ev *corev1.Event) time.Time {
	return firstSet(ev.LastTimestamp.Time, ev.EventTime.Time, ev.FirstTimestamp.Time)
}

func eventFirst(ev *corev1.Event) time.Time {
	return firstSet(ev.FirstTimestamp.Time, ev.EventTime.Time, ev.LastTimestamp.Time)
}

// firstSet is the first of ts that is not zero; the last one when all are.
func firstSet(ts ...time.Time) time.Time {
	for _, t := range ts[:len(ts)-1] {
		if !t.IsZero() {
			return t
		}
	}
	return ts[len(ts)-1]
}

func eventSource(ev *corev1.Event) string {
	src := ev.Source.Component
	if src == "" {
		src = ev.ReportingController
	}
	if ev.Source.Host != "" {
		src += ", " + ev.Source.Host
	}
	return src
}

// SortEvents orders events by last occurrence, oldest first, as a person
// reads a history.
func SortEvents(evs []corev1.Event) {
	sort.SliceStable(evs, func(i, j int) bool { return eventLast(&evs[i]).Before(eventLast(&evs[j])) })
}

// ShortID is an image ID as docker shows it: 12 hex digits without "sha256:".
func ShortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		id = id[:12]
	}
	return id
}

// HumanSize renders bytes in decimal units with three significant digits
// (4.86MB), as docker and crictl do.
func HumanSize(n int64) string {
	units := []string{"B", "kB", "MB", "GB", "TB", "PB"}
	f := float64(n)
	i := 0
	for f >= 1000 && i < len(units)-1 {
		f /= 1000
		i++
	}
	return fmt.Sprintf("%.3g%s", f, units[i])
}

func namespaceOf(obj any) string {
	if o, ok := obj.(metav1.Object); ok {
		return o.GetNamespace()
	}
	return ""
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}
