package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

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
	cancel context.CancelFunc
	// opened delivers the answer to the watch request once; afterwards
	// body and dec are set.
	opened chan openResult
	body   io.ReadCloser
	dec    *json.Decoder
}

type openResult struct {
	resp *http.Response
	err  error
}

// watchOpenWait bounds how long Watch waits for the answer's headers. A
// server may hold back the headers of a watch with nothing to report yet;
// by then it has long subscribed, so the caller may go on (and read what
// it watches) without missing a change.
const watchOpenWait = time.Second

// Watch opens a watch on collection r in namespace ns (""= every namespace);
// a non-empty name narrows it to that object. It returns once podrund has
// answered, or after watchOpenWait if the answer's headers are held back;
// an error answer then comes from the first Next.
func (c *Client) Watch(ctx context.Context, r Resource, ns, name string) (*Watcher, error) {
	q := url.Values{"watch": {"true"}}
	if name != "" {
		q.Set("fieldSelector", "metadata.name="+name)
	}
	ctx, cancel := context.WithCancel(ctx)
	opened := make(chan openResult, 1)
	w := &Watcher{cancel: cancel, opened: opened}
	go func() {
		resp, err := c.send(ctx, request{method: "GET", path: r.Path(ns), query: q}, nil)
		opened <- openResult{resp, err}
	}()
	timer := time.NewTimer(watchOpenWait)
	defer timer.Stop()
	select {
	case res := <-opened:
		if err := w.open(res); err != nil {
			cancel()
			return nil, err
		}
	case <-timer.C:
	case <-ctx.Done():
		cancel()
		return nil, ctx.Err()
	}
	return w, nil
}

func (w *Watcher) open(res openResult) error {
	w.opened = nil
	if res.err != nil {
		return res.err
	}
	w.body = res.resp.Body
	w.dec = json.NewDecoder(res.resp.Body)
	return nil
}

// Next blocks for the next event. It returns io.EOF when the server ended
// the stream, and a *StatusError for an ERROR event.
func (w *Watcher) Next() (api.WatchEvent, error) {
	var ev api.WatchEvent
	if w.opened != nil {
		if err := w.open(<-w.opened); err != nil {
			return ev, err
		}
	}
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
func (w *Watcher) Close() error {
	w.cancel()
	if w.opened != nil {
		// The request is still out; its answer is closed when it comes.
		go func(ch chan openResult) {
			if res := <-ch; res.err == nil {
				res.resp.Body.Close()
			}
		}(w.opened)
		w.opened = nil
		return nil
	}
	if w.body == nil { // the watch was refused
		return nil
	}
	return w.body.Close()
}
