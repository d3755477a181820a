package printer

import (
	"io"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// JobDescription is what `podctl describe job` shows.
type JobDescription struct {
	Job    *batchv1.Job
	Events []corev1.Event // the job's events, any order
	// WaitingFor holds what holds the job's unfinished pods back, one
	// line per blocker prefixed with the pod ("pod NAME: ...").
	WaitingFor []string
}

// DescribeJob writes the kubectl-style description of a job.
func DescribeJob(out io.Writer, desc JobDescription, now time.Time) error {
	d := newDescriber(out, now)
	job := desc.Job
	d.line(0, "Name:\t%s", job.Name)
	d.line(0, "Namespace:\t%s", job.Namespace)
	d.line(0, "Source:\t%s", Source(job.Annotations))
	d.line(0, "Selector:\t%s", selectorString(job.Spec.Selector))
	d.keyValues(0, "Labels", job.Labels)
	d.keyValues(0, "Annotations", job.Annotations)
	if job.Spec.Parallelism != nil {
		d.line(0, "Parallelism:\t%d", *job.Spec.Parallelism)
	}
	if job.Spec.Completions != nil {
		d.line(0, "Completions:\t%d", *job.Spec.Completions)
	} else {
		d.line(0, "Completions:\t<unset>")
	}
	if job.Spec.CompletionMode != nil {
		d.line(0, "Completion Mode:\t%s", *job.Spec.CompletionMode)
	}
	if job.Spec.BackoffLimit != nil {
		d.line(0, "Backoff Limit:\t%d", *job.Spec.BackoffLimit)
	}
	if job.Spec.ActiveDeadlineSeconds != nil {
		d.line(0, "Active Deadline Seconds:\t%ds", *job.Spec.ActiveDeadlineSeconds)
	}
	if job.Status.StartTime != nil {
		d.line(0, "Start Time:\t%s", timestamp(*job.Status.StartTime))
	}
	if job.Status.CompletionTime != nil {
		d.line(0, "Completed At:\t%s", timestamp(*job.Status.CompletionTime))
	}
	if dur := jobDuration(job, now); dur != "" {
		d.line(0, "Duration:\t%s", dur)
	}
	ready := int32(0)
	if job.Status.Ready != nil {
		ready = *job.Status.Ready
	}
	d.line(0, "Pods Statuses:\t%d Active (%d Ready) / %d Succeeded / %d Failed",
		job.Status.Active, ready, job.Status.Succeeded, job.Status.Failed)
	for _, c := range job.Status.Conditions {
		if c.Status == corev1.ConditionTrue && c.Reason != "" {
			d.line(0, "Condition %s:\t%s: %s", c.Type, c.Reason, c.Message)
		}
	}
	d.line(0, "Pod Template:")
	tmpl := &job.Spec.Template
	d.keyValues(1, "Labels", tmpl.Labels)
	pod := &corev1.Pod{Spec: tmpl.Spec}
	d.templateContainers("Init Containers", pod.Spec.InitContainers)
	d.templateContainers("Containers", pod.Spec.Containers)
	d.volumes(tmpl.Spec.Volumes)
	d.waitingFor(desc.WaitingFor)
	d.events(desc.Events)
	return d.flush()
}

// templateContainers lists a pod template's containers (no statuses).
func (d *describer) templateContainers(title string, cs []corev1.Container) {
	if len(cs) == 0 {
		return
	}
	d.line(1, "%s:", title)
	for i := range cs {
		c := &cs[i]
		d.containerHeading(2, c)
		d.line(3, "Image:\t%s", c.Image)
		if len(c.Command) > 0 {
			d.line(3, "Command:")
			for _, a := range c.Command {
				d.line(4, "%s", a)
			}
		}
		if len(c.Args) > 0 {
			d.line(3, "Args:")
			for _, a := range c.Args {
				d.line(4, "%s", a)
			}
		}
		d.line(3, "Environment:\t%d variables", len(c.Env))
		d.line(3, "Mounts:\t%d", len(c.VolumeMounts))
	}
}
