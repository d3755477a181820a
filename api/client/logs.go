package client

import (
	"context"
	"io"
	"net/url"
	"strconv"
)

// LogOptions select which log and how much of it (GET .../log).
type LogOptions struct {
	Container  string
	Follow     bool
	Previous   bool
	Timestamps bool
	// TailLines < 0 means every line.
	TailLines int64
	// SinceSeconds 0 means from the start.
	SinceSeconds int64
}

func (o LogOptions) query() url.Values {
	q := url.Values{}
	if o.Container != "" {
		q.Set("container", o.Container)
	}
	if o.Follow {
		q.Set("follow", "true")
	}
	if o.Previous {
		q.Set("previous", "true")
	}
	if o.Timestamps {
		q.Set("timestamps", "true")
	}
	if o.TailLines >= 0 {
		q.Set("tailLines", strconv.FormatInt(o.TailLines, 10))
	}
	if o.SinceSeconds > 0 {
		q.Set("sinceSeconds", strconv.FormatInt(o.SinceSeconds, 10))
	}
	return q
}

// Logs opens the log of a container of pod ns/name. With Follow the stream
// lasts until the instance has exited and its log is drained; the caller
// closes it.
func (c *Client) Logs(ctx context.Context, ns, name string, o LogOptions) (io.ReadCloser, error) {
	path := Pods.ObjectPath(ns, name) + "/log"
	resp, err := c.send(ctx, request{method: "GET", path: path, query: o.query()}, nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}
