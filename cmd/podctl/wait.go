package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/api/client"
)

func newWaitCommand(g *globals) *cobra.Command {
	var (
		forExpr string
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "wait pod|job NAME --for=condition=Ready|--for=delete|--for=jsonpath={.status.phase}=Succeeded",
		Short: "Wait until an object meets a condition or is deleted",
		Args:  cobra.ExactArgs(2),
		RunE: withKind(func(cmd *cobra.Command, k kind, args []string) error {
			cond, err := parseFor(forExpr)
			if err != nil {
				return err
			}
			ctx, cancel := withTimeout(cmd.Context(), timeout)
			defer cancel()
			err = waitFor(ctx, g.client(), k, g.namespace, args[1], cond)
			if errors.Is(err, context.DeadlineExceeded) {
				return fmt.Errorf("timed out waiting for the condition on %s/%s", k.res, args[1])
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(g.Out, "%s/%s condition met\n", k.singular, args[1])
			return nil
		}),
	}
	cmd.Flags().StringVar(&forExpr, "for", "", "delete, condition=NAME[=VALUE] or jsonpath={PATH}[=VALUE]")
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "how long to wait (0: forever)")
	_ = cmd.MarkFlagRequired("for")
	return cmd
}

// waitFor watches the object until cond holds. The watch is opened before
// the object is read so no change between the two is missed.
func waitFor(ctx context.Context, c *client.Client, k kind, ns, name string, cond waitCondition) error {
	check := func(raw []byte) error {
		var obj map[string]any
		if err := json.Unmarshal(raw, &obj); err != nil {
			return fmt.Errorf("decode %s %s: %w", k.singular, name, err)
		}
		if cond.met(obj) {
			return errStopWatch
		}
		return nil
	}
	resync := func(bool) error {
		var raw json.RawMessage
		err := c.Get(ctx, k.res, ns, name, &raw)
		switch {
		case cond.forDelete && client.IsNotFound(err):
			return errStopWatch
		case err != nil || cond.forDelete:
			return err
		}
		return check(raw)
	}
	return watchUntil(ctx, c, k, ns, name, resync, func(ev api.WatchEvent) error {
		switch {
		case ev.Type == client.Deleted && cond.forDelete:
			return errStopWatch
		case ev.Type == client.Deleted:
			return fmt.Errorf("%s/%s was deleted while waiting", k.singular, name)
		case cond.forDelete:
			return nil
		}
		return check(ev.Object)
	})
}
