package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func newKubeconfigCommand(g *globals) *cobra.Command {
	var server, output string
	cmd := &cobra.Command{
		Use:   "kubeconfig [--server https://HOST:PORT] [-o FILE]",
		Short: "Print a kubeconfig for kubectl and client-go against podrund's HTTPS listener",
		Long: "Ask podrund (over its unix socket: root or the socket's group) for a kubeconfig with a fresh\n" +
			"admin client certificate (CN podrun-admin, O system:masters, valid one year) signed by\n" +
			"podrund's own CA, naming its HTTPS listener (podrund --listen-https). Use:\n" +
			"  podctl kubeconfig > ~/.kube/podrun && KUBECONFIG=~/.kube/podrun kubectl get pods\n" +
			"The kubeconfig holds a private key: -o writes it with mode 0600.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			data, err := g.client().Kubeconfig(cmd.Context(), server)
			if err != nil {
				return err
			}
			if output == "" {
				_, err = g.Out.Write(data)
				return err
			}
			return writePrivate(output, data)
		},
	}
	cmd.Flags().StringVar(&server, "server", "", "the address the kubeconfig names (default: podrund's listenHTTPS address)")
	cmd.Flags().StringVarP(&output, "output", "o", "", "write the kubeconfig to FILE (mode 0600) instead of stdout")
	return cmd
}

// writePrivate writes data to path with mode 0600, also when path existed
// with a wider mode: the file holds a private key.
func writePrivate(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("restrict %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
