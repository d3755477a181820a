package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/api/client"
)

// defaultContainerAnnotation names the container logs and exec use when -c
// is not given (kubectl's convention).
const defaultContainerAnnotation = "kubectl.kubernetes.io/default-container"

func newLogsCommand(g *globals) *cobra.Command {
	var (
		o     client.LogOptions
		since time.Duration
	)
	cmd := &cobra.Command{
		Use:   "logs POD [-c CONTAINER]",
		Short: "Print the log of a container of a pod",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 2 {
				if o.Container != "" && o.Container != args[1] {
					return fmt.Errorf("container given twice: -c %s and %s", o.Container, args[1])
				}
				o.Container = args[1]
			}
			if since < 0 {
				return fmt.Errorf("--since must be positive, not %v", since)
			}
			if since > 0 {
				// The API counts whole seconds; round up so nothing asked for is lost.
				o.SinceSeconds = int64((since + time.Second - 1) / time.Second)
			}
			return streamLogs(cmd.Context(), g, args[0], o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.Container, "container", "c", "", "container name (default: the pod's default-container annotation, else its first container)")
	f.BoolVarP(&o.Follow, "follow", "f", false, "stream the log as it grows")
	f.BoolVarP(&o.Previous, "previous", "p", false, "print the log of the container's previous instance")
	f.BoolVar(&o.Timestamps, "timestamps", false, "prefix every line with its timestamp")
	f.Int64Var(&o.TailLines, "tail", -1, "print only the last N lines (-1: all)")
	f.DurationVar(&since, "since", 0, "print only lines newer than this duration, e.g. 5s, 2m")
	return cmd
}

func streamLogs(ctx context.Context, g *globals, pod string, o client.LogOptions) error {
	c := g.client()
	if o.Container == "" {
		name, err := defaultContainer(ctx, c, g.namespace, pod)
		if err != nil {
			return err
		}
		o.Container = name
	}
	rc, err := c.Logs(ctx, g.namespace, pod, o)
	if err != nil {
		return err
	}
	defer rc.Close()
	if _, err := io.Copy(g.Out, rc); err != nil && ctx.Err() == nil {
		return fmt.Errorf("read log: %w", err)
	}
	return nil
}

// defaultContainer is the container logs and exec use without -c: the
// default-container annotation when it names a container, else the first
// regular container.
func defaultContainer(ctx context.Context, c *client.Client, ns, name string) (string, error) {
	var pod corev1.Pod
	if err := c.Get(ctx, client.Pods, ns, name, &pod); err != nil {
		return "", err
	}
	if want := pod.Annotations[defaultContainerAnnotation]; want != "" {
		for _, ctr := range append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...) {
			if ctr.Name == want {
				return want, nil
			}
		}
	}
	if len(pod.Spec.Containers) == 0 {
		return "", fmt.Errorf("pod %s has no containers", name)
	}
	return pod.Spec.Containers[0].Name, nil
}
