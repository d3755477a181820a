package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/api/client"
	"github.com/podrun/podrun/api/printer"
)

// errFailed marks an object that ended in failure while apply waited.
var errFailed = errors.New("failed")

// waitApplied is apply --wait: it watches every pod until it is Ready or
// has finished, and every job until it completes or fails. Progress (the
// STATUS column as it changes) goes to stderr; once all are done, the
// outcome of each object goes to stdout in manifest order. Any failure or
// timeout makes podctl exit 1.
func waitApplied(ctx context.Context, g *globals, c *client.Client, objs []runtime.Object, timeout time.Duration) error {
	ctx, cancel := withTimeout(ctx, timeout)
	defer cancel()
	prog := newProgress(g.ErrOut)
	results := make([]string, len(objs))
	failed := make([]bool, len(objs))
	var wg sync.WaitGroup
	for i, obj := range objs {
		k, err := kindOf(obj)
		if err != nil || (k.res != client.Pods && k.res != client.Jobs) {
			continue
		}
		m := metaOf(obj)
		ref := printer.ResourceName(obj)
		wg.Add(1)
		go func() {
			defer wg.Done()
			outcome, err := waitOne(ctx, prog, c, k, m.GetNamespace(), m.GetName(), ref)
			switch {
			case errors.Is(err, context.DeadlineExceeded):
				results[i], failed[i] = "error: timed out waiting for "+ref, true
			case err != nil:
				results[i], failed[i] = errorMessage(fmt.Errorf("%s: %w", ref, err)), true
			default:
				results[i] = ref + " " + outcome
			}
		}()
	}
	wg.Wait()
	var failures []string
	for i, r := range results {
		switch {
		case failed[i]:
			failures = append(failures, r)
		case r != "":
			fmt.Fprintln(g.Out, r)
		}
	}
	if len(failures) > 0 {
		return &exitError{code: 1, msg: strings.Join(failures, "\n")}
	}
	return nil
}

// waitOne waits for one pod or job and returns its outcome ("ready",
// "succeeded", "complete").
func waitOne(ctx context.Context, prog *progress, c *client.Client, k kind, ns, name, ref string) (string, error) {
	var (
		outcome string
		failure error
	)
	err := watchUntil(ctx, c, k, ns, name, nil, func(ev api.WatchEvent) error {
		if ev.Type == client.Deleted {
			// A replaced pod goes away before its successor appears.
			return nil
		}
		obj, err := k.decode(ev.Object)
		if err != nil {
			return err
		}
		if metaOf(obj).GetDeletionTimestamp() != nil {
			return nil
		}
		var status string
		switch o := obj.(type) {
		case *corev1.Pod:
			_, status, _ = printer.PodStatusColumns(o)
			outcome, err = podOutcome(o, status)
			status += pullNote(o)
		case *batchv1.Job:
			status = printer.JobStatus(o)
			outcome, err = jobOutcome(o)
		}
		prog.update(ref, status)
		if err != nil || outcome != "" {
			failure = err
			return errStopWatch
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return outcome, failure
}

func podOutcome(pod *corev1.Pod, status string) (string, error) {
	switch pod.Status.Phase {
	case corev1.PodSucceeded:
		return "succeeded", nil
	case corev1.PodFailed:
		msg := status
		if pod.Status.Message != "" {
			msg += ": " + pod.Status.Message
		}
		return "", fmt.Errorf("%w (%s)", errFailed, msg)
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return "ready", nil
		}
	}
	return "", nil
}

func jobOutcome(job *batchv1.Job) (string, error) {
	for _, c := range job.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			return "complete", nil
		case batchv1.JobFailed:
			return "", fmt.Errorf("%w (%s: %s)", errFailed, c.Reason, c.Message)
		}
	}
	return "", nil
}

// pullNote is the image pull in progress, as the engine reports it in a
// container's waiting message ("Pulling image "x": 12.3 MB of 40.0 MB").
func pullNote(p *corev1.Pod) string {
	for _, list := range [][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		for _, cs := range list {
			if w := cs.State.Waiting; w != nil && strings.HasPrefix(w.Message, "Pulling image ") {
				return ", " + cs.Name + ": " + w.Message
			}
		}
	}
	return ""
}
