package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/api/client"
)

// followRestarts is logs -f --follow-restarts: it follows the current
// instance of the container and, each time that log ends, watches the pod
// until the container's next instance runs (its restartCount grew) and
// follows that one. It ends when the pod is gone or has finished.
func followRestarts(ctx context.Context, g *globals, pod string, o client.LogOptions, prefix bool) error {
	c := g.client()
	var mu sync.Mutex
	for {
		p, err := getPod(ctx, c, g.namespace, pod)
		if err != nil {
			return err
		}
		if o.Container == "" {
			if o.Container, err = defaultContainer(ctx, c, g.namespace, pod); err != nil {
				return err
			}
		}
		seen, _ := containerStatus(p, o.Container)
		if err := copyLog(ctx, c, g, pod, o, prefix, &mu); err != nil {
			return err
		}
		next, err := waitNextInstance(ctx, c, g.namespace, pod, o.Container, seen.RestartCount)
		if err != nil || !next {
			return err
		}
		// A new instance: all of its log, whatever --tail and --since said.
		o.TailLines, o.SinceSeconds = -1, 0
	}
}

func getPod(ctx context.Context, c *client.Client, ns, name string) (*corev1.Pod, error) {
	var p corev1.Pod
	if err := c.Get(ctx, client.Pods, ns, name, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// containerStatus finds the status of a container, init or regular.
func containerStatus(p *corev1.Pod, name string) (corev1.ContainerStatus, bool) {
	for _, list := range [][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		for _, st := range list {
			if st.Name == name {
				return st, true
			}
		}
	}
	return corev1.ContainerStatus{}, false
}

// waitNextInstance watches the pod until the container has an instance
// newer than restart count seen (true), or the pod is gone or finished
// (false).
func waitNextInstance(ctx context.Context, c *client.Client, ns, pod, container string, seen int32) (bool, error) {
	k, _ := kindByName("pod")
	next := false
	err := watchUntil(ctx, c, k, ns, pod, nil, func(ev api.WatchEvent) error {
		if ev.Type == client.Deleted {
			return errStopWatch
		}
		var p corev1.Pod
		if err := json.Unmarshal(ev.Object, &p); err != nil {
			return fmt.Errorf("decode pod %s: %w", pod, err)
		}
		st, ok := containerStatus(&p, container)
		if ok && st.RestartCount > seen && (st.State.Running != nil || st.State.Terminated != nil) {
			next = true
			return errStopWatch
		}
		if p.DeletionTimestamp == nil && terminalPhase(p.Status.Phase) {
			return errStopWatch
		}
		return nil
	})
	return next, err
}

func terminalPhase(p corev1.PodPhase) bool {
	return p == corev1.PodSucceeded || p == corev1.PodFailed
}
