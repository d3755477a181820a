package main

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/api/client"
)

// completionTimeout bounds a completion's call to podrund so a shell never
// hangs on Tab.
const completionTimeout = 2 * time.Second

// typeNames are the types get, describe, delete and wait complete.
func typeNames(cmd string) []string {
	switch cmd {
	case "describe":
		return []string{"pod", "job", "cronjob"}
	case "delete":
		return []string{"pod", "job", "cronjob", "configmap", "secret"}
	case "wait":
		return []string{"pod", "job"}
	}
	return []string{"pods", "jobs", "cronjobs", "configmaps", "secrets", "events", "images"}
}

// completeTypeThenName completes "TYPE NAME": the type first, then names
// of that type from podrund.
func completeTypeThenName(g *globals) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) == 0 {
			return filterPrefix(typeNames(cmd.Name()), toComplete), cobra.ShellCompDirectiveNoFileComp
		}
		if len(args) > 1 && cmd.Name() != "delete" {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		k, err := kindByName(args[0])
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return filterPrefix(objectNames(completionContext(cmd), g, k), toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// completePodThenNothing completes the POD of logs and exec.
func completePodThenNothing(g *globals) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveDefault
		}
		k, _ := kindByName("pod")
		return filterPrefix(objectNames(completionContext(cmd), g, k), toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// completeContainer completes -c with the containers of the pod in args[0].
func completeContainer(g *globals) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) == 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := context.WithTimeout(completionContext(cmd), completionTimeout)
		defer cancel()
		var pod corev1.Pod
		if err := g.client().Get(ctx, client.Pods, g.namespace, args[0], &pod); err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var names []string
		for _, c := range append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...) {
			names = append(names, c.Name)
		}
		return filterPrefix(names, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

func objectNames(ctx context.Context, g *globals, k kind) []string {
	ctx, cancel := context.WithTimeout(ctx, completionTimeout)
	defer cancel()
	objs, err := k.list(ctx, g.client(), g.namespace)
	if err != nil {
		return nil
	}
	var names []string
	for _, o := range objs {
		if m, ok := o.(interface{ GetName() string }); ok {
			names = append(names, m.GetName())
		}
	}
	return names
}

func completionContext(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

func filterPrefix(items []string, prefix string) []string {
	var out []string
	for _, it := range items {
		if strings.HasPrefix(it, prefix) {
			out = append(out, it)
		}
	}
	return out
}

// addCompletions wires name completion into the commands that take names;
// cobra's own `completion bash|zsh|fish` emits the shell scripts.
func addCompletions(g *globals, root *cobra.Command) {
	for _, cmd := range root.Commands() {
		switch cmd.Name() {
		case "get", "describe", "delete", "wait":
			cmd.ValidArgsFunction = completeTypeThenName(g)
		case "timeline":
			cmd.ValidArgsFunction = completePodThenNothing(g)
		case "logs", "exec":
			cmd.ValidArgsFunction = completePodThenNothing(g)
			_ = cmd.RegisterFlagCompletionFunc("container", completeContainer(g))
		}
	}
}
