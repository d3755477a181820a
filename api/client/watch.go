package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podrun/podrun/api"
)

// Watch event types.
const (
	Added    = "ADDED"
	Modified = "MODIFIED"
	Deleted  = "DELETED"
	// Error carries a v1 Status as its object (Kubernetes' convention).
	ErrorEvent = "ERROR"
)

// Watcher reads a ?watch=true stream: ADDED for every existing object, then
// the changes.
type Watcher struct {
	body io.ReadCloser
	dec  *json.Decoder
}

// Watch opens a watch on collection r in namespace ns (""= every namespace);
// a non-empty name narrows it to that object.
func (c *Client) Watch(ctx context.Context, r Resource, ns, name string) (*Watcher, error) {
	q := url.Values{"watch": {"true"}}
	if name != "" {
		q.Set("fieldSelector", "metadata.name="+name)
	}
	resp, err := c.send(ctx, request{method: "GET", path: r.Path(ns), query: q}, nil)
	if err != nil {
		return nil, err
	}
	return &Watcher{body: resp.Body, dec: json.NewDecoder(resp.Body)}, nil
}

// Next blocks for the next event. It returns io.EOF when the server ended
// the stream, and a *StatusError for an ERROR event.
func (w *Watcher) Next() (api.WatchEvent, error) {
	var ev api.WatchEvent
	if err := w.dec.Decode(&ev); err != nil {
		if errors.Is(err, io.EOF) {
			return ev, io.EOF
		}
		return ev, fmt.Errorf("read watch event: %w", err)
	}
	if ev.Type == ErrorEvent {
		var st metav1.Status
		if err := json.Unmarshal(ev.Object, &st); err != nil {
			return ev, fmt.Errorf("watch error event: %s", ev.Object)
		}
		return ev, &StatusError{ErrStatus: st}
	}
	if ev.Type == "" || len(ev.Object) == 0 {
		return ev, fmt.Errorf("malformed watch event: %q", ev.Type)
	}
	return ev, nil
}

// Close ends the watch.
func (w *Watcher) Close() error { return w.body.Close() }
