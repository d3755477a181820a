package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/podrun/podrun/api/client"
	"github.com/podrun/podrun/api/printer"
)

func newDescribeCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "describe pod|job|cronjob NAME",
		Short: "Show a pod, job or cronjob in detail, with its events",
		Args:  cobra.ExactArgs(2),
		RunE: withKind(func(cmd *cobra.Command, k kind, args []string) error {
			ctx := cmd.Context()
			switch k.res {
			case client.Pods:
				return describePod(ctx, g, args[1])
			case client.Jobs:
				return describeJob(ctx, g, args[1])
			case client.CronJobs:
				return describeCronJob(ctx, g, args[1])
			}
			return fmt.Errorf("describe supports pods, jobs and cronjobs, not %s", args[0])
		}),
	}
}

func describePod(ctx context.Context, g *globals, name string) error {
	c := g.client()
	var pod corev1.Pod
	evs, err := getWithEvents(ctx, c, g.namespace, client.Pods, "Pod", name, &pod)
	if err != nil {
		return err
	}
	waiting, err := waitingFor(ctx, c, g.namespace, name)
	if err != nil {
		return err
	}
	return printer.DescribePod(g.Out, printer.PodDescription{Pod: &pod, Events: evs, WaitingFor: waiting}, g.now())
}

// waitingFor reads the pod's blockers (podrun's /blockers path). A daemon
// without that path (older podrund) leaves the section out.
func waitingFor(ctx context.Context, c *client.Client, ns, name string) ([]string, error) {
	b, err := c.Blockers(ctx, ns, name)
	if client.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read what pod %s waits for: %w", name, err)
	}
	lines := make([]string, 0, len(b.Items))
	for _, it := range b.Items {
		lines = append(lines, it.Message)
	}
	return lines, nil
}

// jobWaitingFor collects the blockers of the job's unfinished pods.
func jobWaitingFor(ctx context.Context, c *client.Client, job *batchv1.Job) ([]string, error) {
	var pods corev1.PodList
	if err := c.List(ctx, client.Pods, job.Namespace, &pods); err != nil {
		return nil, fmt.Errorf("list pods of job %s: %w", job.Name, err)
	}
	var out []string
	for i := range pods.Items {
		p := &pods.Items[i]
		if !ownedBy(p, job.UID) || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		lines, err := waitingFor(ctx, c, p.Namespace, p.Name)
		if err != nil {
			return nil, err
		}
		for _, l := range lines {
			out = append(out, "pod "+p.Name+": "+l)
		}
	}
	return out, nil
}

func ownedBy(p *corev1.Pod, uid types.UID) bool {
	for _, o := range p.OwnerReferences {
		if o.UID == uid {
			return true
		}
	}
	return false
}

func describeJob(ctx context.Context, g *globals, name string) error {
	c := g.client()
	var job batchv1.Job
	evs, err := getWithEvents(ctx, c, g.namespace, client.Jobs, "Job", name, &job)
	if err != nil {
		return err
	}
	waiting, err := jobWaitingFor(ctx, c, &job)
	if err != nil {
		return err
	}
	return printer.DescribeJob(g.Out, printer.JobDescription{Job: &job, Events: evs, WaitingFor: waiting}, g.now())
}

// getWithEvents reads one object into obj and returns its events: what
// every describe starts from.
func getWithEvents(ctx context.Context, c *client.Client, ns string, res client.Resource, kind, name string, obj metav1.Object) ([]corev1.Event, error) {
	if err := c.Get(ctx, res, ns, name, obj); err != nil {
		return nil, err
	}
	return eventsFor(ctx, c, ns, kind, name, obj.GetUID())
}

// eventsFor lists the events of one object. Events of an earlier object of
// the same name (another UID) are left out.
func eventsFor(ctx context.Context, c *client.Client, ns, kind, name string, uid types.UID) ([]corev1.Event, error) {
	var l corev1.EventList
	if err := c.List(ctx, client.Events, ns, &l); err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	var out []corev1.Event
	for _, ev := range l.Items {
		io := ev.InvolvedObject
		if io.Name != name || (io.Kind != "" && io.Kind != kind) {
			continue
		}
		if uid != "" && io.UID != "" && io.UID != uid {
			continue
		}
		out = append(out, ev)
	}
	return out, nil
}

func describeCronJob(ctx context.Context, g *globals, name string) error {
	var cj batchv1.CronJob
	evs, err := getWithEvents(ctx, g.client(), g.namespace, client.CronJobs, "CronJob", name, &cj)
	if err != nil {
		return err
	}
	return printer.DescribeCronJob(g.Out, printer.CronJobDescription{CronJob: &cj, Events: evs}, g.now())
}
