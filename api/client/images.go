package client

import (
	"context"
	"io"
	"net/url"

	"github.com/podrun/podrun/api"
)

// ListImages lists the images of podrund's containerd namespace.
func (c *Client) ListImages(ctx context.Context) (*api.ImageList, error) {
	return call[api.ImageList](ctx, c, request{method: "GET", path: "/images"})
}

// ImportImage streams a tarball (OCI layout or docker-archive) to podrund and
// returns what was imported.
func (c *Client) ImportImage(ctx context.Context, tarball io.Reader) (*api.ImageList, error) {
	return call[api.ImageList](ctx, c, request{method: "POST", path: "/images/import", body: tarball, contentType: "application/x-tar"})
}

// PullImage pulls ref through podrund.
func (c *Client) PullImage(ctx context.Context, ref string) (*api.Image, error) {
	return call[api.Image](ctx, c, request{method: "POST", path: "/images/pull", query: url.Values{"ref": {ref}}})
}

// RemoveImage removes ref and returns the removed image.
func (c *Client) RemoveImage(ctx context.Context, ref string) (*api.Image, error) {
	return call[api.Image](ctx, c, request{method: "DELETE", path: "/images", query: url.Values{"ref": {ref}}})
}

// Version reads podrund's version.
func (c *Client) Version(ctx context.Context) (*api.Version, error) {
	return call[api.Version](ctx, c, request{method: "GET", path: "/version"})
}

// Ready returns nil when podrund answers GET /readyz with 200.
func (c *Client) Ready(ctx context.Context) error {
	return c.do(ctx, request{method: "GET", path: "/readyz"}, nil)
}
