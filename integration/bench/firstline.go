package bench

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/api/client"
)

// firstLinePod is threeContainerPod whose containers each print one line
// first (echo is a shell builtin: no fork), so that the log writer's
// timestamp of that line says when the container's process ran.
func firstLinePod(name string) *corev1.Pod {
	p := threeContainerPod(name)
	for _, list := range [][]corev1.Container{p.Spec.InitContainers, p.Spec.Containers} {
		for i := range list {
			list[i].Command[2] = "echo up; " + list[i].Command[2]
		}
	}
	return p
}

// firstLineAt returns the timestamp of the first log line of container c
// of pod ns/name, waiting for it (follow) if it was not written yet.
func firstLineAt(ctx context.Context, c *client.Client, ns, name, container string) (time.Time, error) {
	rc, err := c.Logs(ctx, ns, name, client.LogOptions{Container: container, Follow: true, Timestamps: true, TailLines: -1})
	if err != nil {
		return time.Time{}, fmt.Errorf("log of %s/%s %s: %w", ns, name, container, err)
	}
	defer rc.Close()
	line, err := bufio.NewReader(rc).ReadString('\n')
	if err != nil {
		return time.Time{}, fmt.Errorf("first log line of %s/%s %s: %w", ns, name, container, err)
	}
	return parseTimestamped(line)
}

// parseTimestamped reads the RFC 3339 timestamp that starts a log line
// fetched with timestamps=true.
func parseTimestamped(line string) (time.Time, error) {
	ts, _, _ := strings.Cut(line, " ")
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return time.Time{}, fmt.Errorf("log line %q: no timestamp: %w", line, err)
	}
	return t, nil
}
