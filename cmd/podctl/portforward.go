package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/portforward"

	"github.com/podrun/podrun/api/client"
)

func newPortForwardCommand(g *globals) *cobra.Command {
	var addresses []string
	cmd := &cobra.Command{
		Use:   "port-forward POD [LOCAL_PORT:]REMOTE_PORT [...[LOCAL_PORT_N:]REMOTE_PORT_N]",
		Short: "Forward local ports to ports on a pod's loopback",
		Long: "Listen on local ports and forward each connection to 127.0.0.1:REMOTE_PORT inside the pod's\n" +
			"network namespace, as kubectl port-forward does. LOCAL_PORT 0 or left out (\":REMOTE\")\n" +
			"picks a free port; without a colon the local port is the remote one. Runs until interrupted.",
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return portForward(cmd.Context(), g, args[0], args[1:], addresses)
		},
	}
	cmd.Flags().StringSliceVar(&addresses, "address", []string{"127.0.0.1"},
		"addresses to listen on (comma separated); only IP addresses or localhost")
	return cmd
}

// portForward runs client-go's forwarder over podrund's socket until ctx
// ends (Ctrl-C) or the pod's side breaks off.
func portForward(ctx context.Context, g *globals, pod string, ports, addresses []string) error {
	c := g.client()
	if err := checkPodRunning(ctx, c, g.namespace, pod); err != nil {
		return err
	}
	dialer, err := c.PortForwardDialer(g.namespace, pod)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ready := make(chan struct{})
	fw, err := portforward.NewOnAddressesForStreamingWithContext(ctx, dialer, addresses, ports, ready, g.Out, g.ErrOut)
	if err != nil {
		return fmt.Errorf("port-forward: %w", err)
	}
	err = fw.ForwardPorts()
	if errors.Is(err, portforward.ErrLostConnectionToPod) {
		return fmt.Errorf("port-forward: %w", err)
	}
	return err
}

// checkPodRunning refuses a pod that is not Running before listening, as
// kubectl does, with podrund's Status for a pod that does not exist.
func checkPodRunning(ctx context.Context, c *client.Client, ns, name string) error {
	var pod corev1.Pod
	if err := c.Get(ctx, client.Pods, ns, name, &pod); err != nil {
		return err
	}
	if pod.Status.Phase != corev1.PodRunning {
		return fmt.Errorf("unable to forward port because pod is not running. Current status=%s", pod.Status.Phase)
	}
	return nil
}
