package client

import (
	"context"
	"io"
	"net/url"

	"github.com/podrun/podrun/api"
)

// ListImages lists the images of podrund's containerd namespace.
func (c *Client) ListImages(ctx context.Context) (*api.ImageList, error) {
	var l api.ImageList
	if err := c.do(ctx, request{method: "GET", path: "/images"}, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// ImportImage streams a tarball (OCI layout or docker-archive) to podrund and
// returns what was imported.
func (c *Client) ImportImage(ctx context.Context, tarball io.Reader) (*api.ImageList, error) {
	var l api.ImageList
	r := request{method: "POST", path: "/images/import", body: tarball, contentType: "application/x-tar"}
	if err := c.do(ctx, r, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// PullImage pulls ref through podrund.
func (c *Client) PullImage(ctx context.Context, ref string) (*api.Image, error) {
	var img api.Image
	r := request{method: "POST", path: "/images/pull", query: url.Values{"ref": {ref}}}
	if err := c.do(ctx, r, &img); err != nil {
		return nil, err
	}
	return &img, nil
}

// RemoveImage removes ref and returns the removed image.
func (c *Client) RemoveImage(ctx context.Context, ref string) (*api.Image, error) {
	var img api.Image
	r := request{method: "DELETE", path: "/images", query: url.Values{"ref": {ref}}}
	if err := c.do(ctx, r, &img); err != nil {
		return nil, err
	}
	return &img, nil
}

// Version reads podrund's version.
func (c *Client) Version(ctx context.Context) (*api.Version, error) {
	var v api.Version
	if err := c.do(ctx, request{method: "GET", path: "/version"}, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Ready returns nil when podrund answers GET /readyz with 200.
func (c *Client) Ready(ctx context.Context) error {
	return c.do(ctx, request{method: "GET", path: "/readyz"}, nil)
}
