package client

import (
	"context"
	"fmt"
	"io"
	"net/url"
)

// maxKubeconfig bounds the answer read: a kubeconfig is a few kilobytes.
const maxKubeconfig = 1 << 20

// Kubeconfig asks podrund for a kubeconfig with a fresh admin client
// certificate for its HTTPS listener (POST /podrun/v1/kubeconfig); server,
// when not empty, is the address the kubeconfig names instead of the
// listener's own.
func (c *Client) Kubeconfig(ctx context.Context, server string) ([]byte, error) {
	q := url.Values{}
	if server != "" {
		q.Set("server", server)
	}
	resp, err := c.send(ctx, request{method: "POST", path: "/podrun/v1/kubeconfig", query: q}, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxKubeconfig))
	if err != nil {
		return nil, fmt.Errorf("read kubeconfig: %w", err)
	}
	return data, nil
}
