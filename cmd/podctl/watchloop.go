package main

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/api/client"
)

// errStopWatch ends watchUntil successfully.
var errStopWatch = errors.New("stop watching")

// reopenPause spaces out re-opened watches of a server that keeps ending
// them at once.
const reopenPause = time.Second

// watchUntil watches object name of kind k and hands every event to fn
// until fn returns errStopWatch (success) or another error. resync, when not
// nil, runs each time the watch is open, before its first event is read, so
// that nothing it does or observes can be missed by the watch; it returns
// errStopWatch when it finds the wait over. A stream that podrund ends is
// re-opened; its ADDED events repeat the current state and resync runs again
// (for an object deleted meanwhile, which no ADDED reports).
func watchUntil(ctx context.Context, c *client.Client, k kind, ns, name string,
	resync func(first bool) error, fn func(api.WatchEvent) error) error {
	for first := true; ; first = false {
		opened := time.Now()
		w, err := c.Watch(ctx, k.res, ns, name)
		if err != nil {
			return err
		}
		if resync != nil {
			if err := resync(first); err != nil {
				w.Close()
				if errors.Is(err, errStopWatch) {
					return nil
				}
				return err
			}
		}
		err = readEvents(w, fn)
		w.Close()
		switch {
		case errors.Is(err, errStopWatch):
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case !errors.Is(err, io.EOF):
			return err
		}
		// podrund ended the stream: watch again.
		if wait := reopenPause - time.Since(opened); wait > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
		}
	}
}

func readEvents(w *client.Watcher, fn func(api.WatchEvent) error) error {
	for {
		ev, err := w.Next()
		if err != nil {
			return err
		}
		if err := fn(ev); err != nil {
			return err
		}
	}
}

// withTimeout bounds ctx by d; 0 or less means no bound.
func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}
