package client

import (
	"context"
	"net/url"

	"github.com/podrun/podrun/api"
)

func podSubPath(ns, name, sub string) string {
	return "/api/v1/namespaces/" + url.PathEscape(ns) + "/pods/" + url.PathEscape(name) + "/" + sub
}

// Blockers reads what holds a pod back now (podrun's /blockers path).
func (c *Client) Blockers(ctx context.Context, ns, name string) (*api.PodBlockers, error) {
	return call[api.PodBlockers](ctx, c, request{method: "GET", path: podSubPath(ns, name, "blockers")})
}

// Timeline reads the instance history of a pod (podrun's /timeline path).
func (c *Client) Timeline(ctx context.Context, ns, name string) (*api.PodTimeline, error) {
	return call[api.PodTimeline](ctx, c, request{method: "GET", path: podSubPath(ns, name, "timeline")})
}

// Stats reads the CPU and memory use of a pod's running containers.
func (c *Client) Stats(ctx context.Context, ns, name string) (*api.PodStats, error) {
	return call[api.PodStats](ctx, c, request{method: "GET", path: podSubPath(ns, name, "stats")})
}
