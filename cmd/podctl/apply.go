package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/podrun/podrun/api/client"
	"github.com/podrun/podrun/api/printer"
)

type applyFlags struct {
	files   []string
	wait    bool
	timeout time.Duration
	force   bool
}

func newApplyCommand(g *globals) *cobra.Command {
	var f applyFlags
	cmd := &cobra.Command{
		Use:   "apply -f FILE|DIR|-",
		Short: "Create or update every object of a manifest",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return apply(cmd.Context(), g, f)
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVarP(&f.files, "filename", "f", nil, "manifest file, directory of manifests, or - for stdin")
	fl.BoolVar(&f.wait, "wait", false, "wait until every pod is Ready or finished and every job complete; fail if one failed")
	fl.DurationVar(&f.timeout, "timeout", 5*time.Minute, "how long --wait waits")
	fl.BoolVar(&f.force, "force", false, "also change objects a file of podrund's manifest directory owns")
	return cmd
}

func apply(ctx context.Context, g *globals, f applyFlags) error {
	objs, err := readManifests(f.files, g.In)
	if err != nil {
		return err
	}
	p, err := g.printer()
	if err != nil {
		return err
	}
	c := g.client()
	if f.force {
		c = c.WithForce()
	}
	var applied []runtime.Object
	for _, mo := range objs {
		stored, verb, err := applyOne(ctx, c, g.namespace, mo)
		if err != nil {
			return err
		}
		switch p.Format() {
		case printer.Name:
			fmt.Fprintln(g.Out, printer.ResourceName(stored))
		case printer.Table, printer.Wide:
			fmt.Fprintf(g.Out, "%s %s\n", printer.ResourceName(stored), verb)
		}
		applied = append(applied, stored)
	}
	if structured(p) { // -o json|yaml: the objects as stored, as kubectl prints them
		if err := printObjects(p, applied); err != nil {
			return err
		}
	}
	if !f.wait {
		return nil
	}
	return waitApplied(ctx, g, c, applied, f.timeout)
}

// applyOne is the contract's apply (docs/contract.md §2): GET; 404 → POST ("created"); else PUT and
// compare resourceVersions ("unchanged" when the server kept it).
func applyOne(ctx context.Context, c *client.Client, defaultNS string, mo manifestObject) (runtime.Object, string, error) {
	k, err := kindOf(mo.obj)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", mo.source, err)
	}
	m := metaOf(mo.obj)
	if m.GetNamespace() == "" {
		m.SetNamespace(defaultNS)
	}
	ns, name := m.GetNamespace(), m.GetName()
	if name == "" {
		return nil, "", fmt.Errorf("error when creating %q: a %s needs metadata.name", mo.source, k.singular)
	}
	current := k.newObj()
	err = c.Get(ctx, k.res, ns, name, current)
	stored := k.newObj()
	switch {
	case client.IsNotFound(err):
		// A Status error is printed as it is (design: `Error from server
		// (Invalid): Pod "x" is invalid: ...`); the name is in it.
		if err := c.Create(ctx, k.res, ns, mo.obj, stored); err != nil {
			return nil, "", err
		}
		return stored, "created", nil
	case err != nil:
		return nil, "", err
	}
	before := metaOf(current).GetResourceVersion()
	if err := c.Update(ctx, k.res, ns, name, mo.obj, stored); err != nil {
		return nil, "", err
	}
	if metaOf(stored).GetResourceVersion() == before {
		return stored, "unchanged", nil
	}
	return stored, "configured", nil
}

// printObjects prints one object as itself and several as a v1 List.
func printObjects(p *printer.Printer, objs []runtime.Object) error {
	if len(objs) == 1 {
		return p.PrintObject(objs[0])
	}
	items := make([]any, len(objs))
	for i, o := range objs {
		items[i] = o
	}
	return p.PrintList(items)
}
