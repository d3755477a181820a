package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
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
		m     multiLog
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
			if m.all {
				if o.Container != "" {
					return errors.New("--all-containers and a container name are exclusive")
				}
				return streamAllLogs(cmd.Context(), g, args[0], o, m.prefix)
			}
			if m.followRestarts {
				if !o.Follow || o.Previous {
					return errors.New("--follow-restarts needs -f and no --previous")
				}
				return followRestarts(cmd.Context(), g, args[0], o, m.prefix)
			}
			return streamLogs(cmd.Context(), g, args[0], o, m.prefix)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.Container, "container", "c", "", "container name (default: the pod's default-container annotation, else its first container)")
	f.BoolVarP(&o.Follow, "follow", "f", false, "stream the log as it grows")
	f.BoolVarP(&o.Previous, "previous", "p", false, "print the log of the container's previous instance")
	f.BoolVar(&o.Timestamps, "timestamps", false, "prefix every line with its timestamp")
	f.Int64Var(&o.TailLines, "tail", -1, "print only the last N lines (-1: all)")
	f.DurationVar(&since, "since", 0, "print only lines newer than this duration, e.g. 5s, 2m")
	f.BoolVar(&m.all, "all-containers", false, "print the logs of every container (init, sidecar, regular) in spec order")
	f.BoolVar(&m.prefix, "prefix", false, "prefix every line with [pod/NAME/CONTAINER]")
	f.BoolVar(&m.followRestarts, "follow-restarts", false, "with -f, go on with the container's next instances after it restarts")
	return cmd
}

func streamLogs(ctx context.Context, g *globals, pod string, o client.LogOptions, prefix bool) error {
	c := g.client()
	if o.Container == "" {
		name, err := defaultContainer(ctx, c, g.namespace, pod)
		if err != nil {
			return err
		}
		o.Container = name
	}
	return copyLog(ctx, c, g, pod, o, prefix, &sync.Mutex{})
}

// copyLog copies one container's log to stdout; with prefix, line by line
// under mu so that concurrent follows do not interleave within a line.
func copyLog(ctx context.Context, c *client.Client, g *globals, pod string, o client.LogOptions, prefix bool, mu *sync.Mutex) error {
	rc, err := c.Logs(ctx, g.namespace, pod, o)
	if err != nil {
		return err
	}
	defer rc.Close()
	if !prefix {
		_, err = io.Copy(g.Out, rc)
	} else {
		err = copyPrefixed(g.Out, rc, fmt.Sprintf("[pod/%s/%s] ", pod, o.Container), mu)
	}
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("read log of %s: %w", o.Container, err)
	}
	return nil
}

// copyPrefixed copies rd to out with tag before every line, each line
// written under mu so that concurrent follows do not interleave within
// it. A line longer than the reader's buffer (a container that never
// writes a newline) is written in pieces as it comes rather than held
// whole; only such a line may interleave with another container's.
func copyPrefixed(out io.Writer, rd io.Reader, tag string, mu *sync.Mutex) error {
	br := bufio.NewReaderSize(rd, 64<<10)
	atStart := true
	for {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 {
			mu.Lock()
			if atStart {
				_, _ = io.WriteString(out, tag)
			}
			_, _ = out.Write(chunk)
			mu.Unlock()
			atStart = chunk[len(chunk)-1] == '\n'
		}
		switch {
		case err == nil, errors.Is(err, bufio.ErrBufferFull):
		case errors.Is(err, io.EOF):
			return nil
		default:
			return err
		}
	}
}

// multiLog are the flags of logs --all-containers.
type multiLog struct {
	all, prefix, followRestarts bool
}

// streamAllLogs prints every container's log: one after another, or with
// -f all at once.
func streamAllLogs(ctx context.Context, g *globals, pod string, o client.LogOptions, prefix bool) error {
	c := g.client()
	var p corev1.Pod
	if err := c.Get(ctx, client.Pods, g.namespace, pod, &p); err != nil {
		return err
	}
	var names []string
	for _, ctr := range append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
		names = append(names, ctr.Name)
	}
	var mu sync.Mutex
	if !o.Follow {
		for _, n := range names {
			o.Container = n
			if err := copyLog(ctx, c, g, pod, o, prefix, &mu); err != nil {
				return err
			}
		}
		return nil
	}
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Add(1)
		go func(o client.LogOptions) {
			defer wg.Done()
			errs[i] = copyLog(ctx, c, g, pod, o, prefix, &mu)
		}(withContainer(o, n))
	}
	wg.Wait()
	return errors.Join(errs...)
}

func withContainer(o client.LogOptions, name string) client.LogOptions {
	o.Container = name
	return o
}

// defaultContainer is the container logs and exec use without -c: the
// default-container annotation when it names a container, else the first
// regular container.
func defaultContainer(ctx context.Context, c *client.Client, ns, name string) (string, error) {
	var pod corev1.Pod
	if err := c.Get(ctx, client.Pods, ns, name, &pod); err != nil {
		return "", err
	}
	return podDefaultContainer(&pod)
}

func podDefaultContainer(pod *corev1.Pod) (string, error) {
	name := pod.Name
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
