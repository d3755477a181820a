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

// watchUntil watches object name of kind k and hands every event to fn
// until fn returns errStopWatch (success) or another error. start, when
// not nil, runs once the watch is open, before the first event is read, so
// that nothing it observes can be missed by the watch. A stream that podrund
// ends is re-opened; its ADDED event repeats the current state.
func watchUntil(ctx context.Context, c *client.Client, k kind, ns, name string,
	start func() error, fn func(api.WatchEvent) error) error {
	for {
		w, err := c.Watch(ctx, k.res, ns, name)
		if err != nil {
			return err
		}
		if start != nil {
			if err := start(); err != nil {
				w.Close()
				if errors.Is(err, errStopWatch) {
					return nil
				}
				return err
			}
			start = nil
		}
		err = readEvents(w, fn)
		w.Close()
		switch {
		case errors.Is(err, errStopWatch):
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, io.EOF):
			continue // podrund closed the stream: watch again
		}
		return err
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
