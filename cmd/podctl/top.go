package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/api/client"
	"github.com/podrun/podrun/api/printer"
)

func newTopCommand(g *globals) *cobra.Command {
	top := &cobra.Command{Use: "top", Short: "Show CPU and memory use"}
	top.AddCommand(&cobra.Command{
		Use:               "pod [NAME]",
		Short:             "CPU (millicores) and memory (working set) of each running container, from its cgroup",
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completePodThenNothing(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			stats, err := podStats(cmd.Context(), g, args)
			if err != nil {
				return err
			}
			if g.output == "json" {
				enc := json.NewEncoder(g.Out)
				enc.SetIndent("", "  ")
				return enc.Encode(stats)
			}
			return printTop(g, stats)
		},
	})
	return top
}

// podStats reads the stats of one pod, or of every running pod of the
// namespace when no name is given.
func podStats(ctx context.Context, g *globals, args []string) ([]*api.PodStats, error) {
	c := g.client()
	names := args
	if len(names) == 0 {
		var l corev1.PodList
		if err := c.List(ctx, client.Pods, g.namespace, &l); err != nil {
			return nil, fmt.Errorf("list pods: %w", err)
		}
		for _, p := range l.Items {
			if p.Status.Phase == corev1.PodRunning || p.Status.Phase == corev1.PodPending {
				names = append(names, p.Name)
			}
		}
	}
	var out []*api.PodStats
	for _, n := range names {
		s, err := c.Stats(ctx, g.namespace, n)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func printTop(g *globals, stats []*api.PodStats) error {
	if len(stats) == 0 {
		fmt.Fprintf(g.ErrOut, "No resources found in %s namespace.\n", g.namespace)
		return nil
	}
	tw := tabwriter.NewWriter(g.Out, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "POD\tNAME\tCPU(cores)\tMEMORY(bytes)")
	for _, s := range stats {
		for _, c := range s.Containers {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Pod, c.Name, printer.FormatCPU(c.CPUMilli), printer.FormatMemory(c.MemoryBytes))
		}
	}
	return tw.Flush()
}
