package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/api/client"
	"github.com/podrun/podrun/api/printer"
)

type deleteFlags struct {
	files   []string
	grace   int64
	now     bool
	wait    bool
	timeout time.Duration
	force   bool
}

// deleteTarget is one object to delete.
type deleteTarget struct {
	k         kind
	namespace string
	name      string
}

func newDeleteCommand(g *globals) *cobra.Command {
	var f deleteFlags
	cmd := &cobra.Command{
		Use:   "delete pod|job|cronjob|configmap|secret NAME... | -f FILE",
		Short: "Delete objects; pods stop gracefully",
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.now {
				if f.grace >= 0 {
					return errors.New("--now and --grace-period cannot be given together")
				}
				f.grace = 1 // kubectl's --now
			}
			targets, err := deleteTargets(g, f, args)
			if err != nil {
				return err
			}
			p, err := g.printer()
			if err != nil {
				return err
			}
			ctx, cancel := withTimeout(cmd.Context(), f.timeout)
			defer cancel()
			for _, t := range targets {
				if err := deleteOne(ctx, g, p, t, f); err != nil {
					if errors.Is(err, context.DeadlineExceeded) {
						return fmt.Errorf("timed out waiting for %s/%s to be deleted", t.k.singular, t.name)
					}
					return err
				}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVarP(&f.files, "filename", "f", nil, "delete the objects of this manifest")
	fl.Int64Var(&f.grace, "grace-period", -1, "seconds a pod gets to stop (-1: the pod's terminationGracePeriodSeconds)")
	fl.BoolVar(&f.now, "now", false, "stop pods at once (--grace-period=1)")
	fl.BoolVar(&f.wait, "wait", true, "wait until the objects are gone")
	fl.DurationVar(&f.timeout, "timeout", 0, "how long --wait waits (0: forever)")
	fl.BoolVar(&f.force, "force", false, "also delete objects a file of podrund's manifest directory owns")
	return cmd
}

func deleteTargets(g *globals, f deleteFlags, args []string) ([]deleteTarget, error) {
	if len(f.files) > 0 {
		if len(args) > 0 {
			return nil, errors.New("give either -f or a type and names, not both")
		}
		objs, err := readManifests(f.files, g.In)
		if err != nil {
			return nil, err
		}
		var ts []deleteTarget
		for _, mo := range objs {
			k, err := kindOf(mo.obj)
			if err != nil {
				return nil, err
			}
			m := metaOf(mo.obj)
			ns := m.GetNamespace()
			if ns == "" {
				ns = g.namespace
			}
			ts = append(ts, deleteTarget{k, ns, m.GetName()})
		}
		return ts, nil
	}
	if len(args) < 2 {
		return nil, errors.New("give a type and at least one name (delete pod NAME), or -f FILE")
	}
	k, err := kindByName(args[0])
	if err != nil {
		return nil, err
	}
	var ts []deleteTarget
	for _, name := range args[1:] {
		ts = append(ts, deleteTarget{k, g.namespace, name})
	}
	return ts, nil
}

// deleteOne deletes an object. With --wait on a pod or job it opens a
// watch before the DELETE so the DELETED event, which carries the final
// object, cannot be missed; -o json|yaml prints that final object.
func deleteOne(ctx context.Context, g *globals, p *printer.Printer, t deleteTarget, f deleteFlags) error {
	c := g.client()
	if f.force {
		c = c.WithForce()
	}
	opts := client.DeleteOptions{}
	if f.grace >= 0 {
		opts.GracePeriodSeconds = &f.grace
	}
	waits := f.wait && (t.k.res == client.Pods || t.k.res == client.Jobs)
	if !waits {
		obj := t.k.newObj()
		if err := c.Delete(ctx, t.k.res, t.namespace, t.name, opts, obj); err != nil {
			return err
		}
		return printDeleted(g, p, t, obj)
	}
	var final runtime.Object
	del := func(first bool) error {
		if !first { // a re-opened watch: is the object gone already?
			if err := c.Get(ctx, t.k.res, t.namespace, t.name, t.k.newObj()); client.IsNotFound(err) {
				return errStopWatch
			}
			return nil
		}
		obj := t.k.newObj()
		if err := c.Delete(ctx, t.k.res, t.namespace, t.name, opts, obj); err != nil {
			return err
		}
		final = obj
		if !structured(p) {
			return printDeleted(g, p, t, obj)
		}
		return nil
	}
	err := watchUntil(ctx, c, t.k, t.namespace, t.name, del, func(ev api.WatchEvent) error {
		if ev.Type != client.Deleted {
			return nil
		}
		obj, err := t.k.decode(ev.Object)
		if err != nil {
			return err
		}
		final = obj
		return errStopWatch
	})
	if err != nil {
		return err
	}
	if structured(p) {
		return p.PrintObject(final)
	}
	return nil
}

// structured reports whether the output is an object format (json, yaml).
func structured(p *printer.Printer) bool {
	return p.Format() == printer.JSON || p.Format() == printer.YAML
}

// printDeleted is kubectl's `pod "NAME" deleted` (or the name, or the object).
func printDeleted(g *globals, p *printer.Printer, t deleteTarget, obj runtime.Object) error {
	switch p.Format() {
	case printer.Name:
		fmt.Fprintln(g.Out, printer.ResourceName(obj))
		return nil
	case printer.JSON, printer.YAML:
		return p.PrintObject(obj)
	}
	fmt.Fprintf(g.Out, "%s %q deleted\n", t.k.singular, t.name)
	return nil
}
