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
	var b api.PodBlockers
	if err := c.do(ctx, request{method: "GET", path: podSubPath(ns, name, "blockers")}, &b); err != nil {
		return nil, err
	}
	return &b, nil
}

// Timeline reads the instance history of a pod (podrun's /timeline path).
func (c *Client) Timeline(ctx context.Context, ns, name string) (*api.PodTimeline, error) {
	var t api.PodTimeline
	if err := c.do(ctx, request{method: "GET", path: podSubPath(ns, name, "timeline")}, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// Stats reads the CPU and memory use of a pod's running containers.
func (c *Client) Stats(ctx context.Context, ns, name string) (*api.PodStats, error) {
	var s api.PodStats
	if err := c.do(ctx, request{method: "GET", path: podSubPath(ns, name, "stats")}, &s); err != nil {
		return nil, err
	}
	return &s, nil
}
