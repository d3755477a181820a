package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/podrun/podrun/api/client"
	"github.com/podrun/podrun/api/printer"
)

func newGetCommand(g *globals) *cobra.Command {
	var watch bool
	cmd := &cobra.Command{
		Use:   "get pods|jobs|cronjobs|configmaps|secrets|events|images [NAME]",
		Short: "Show objects as a table, json, yaml or names",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := ""
			if len(args) == 2 {
				name = args[1]
			}
			if args[0] == "image" || args[0] == "images" {
				if watch {
					return errors.New("images cannot be watched")
				}
				return getImages(cmd.Context(), g, name)
			}
			k, err := kindByName(args[0])
			if err != nil {
				return err
			}
			if watch {
				return watchObjects(cmd.Context(), g, k, name)
			}
			return getObjects(cmd.Context(), g, k, name)
		},
	}
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "after listing, print every change")
	return cmd
}

func getObjects(ctx context.Context, g *globals, k kind, name string) error {
	p, err := g.printer()
	if err != nil {
		return err
	}
	c := g.client()
	if name != "" {
		obj, err := k.get(ctx, c, g.namespace, name)
		if err != nil {
			return err
		}
		return p.PrintObject(obj)
	}
	objs, err := k.list(ctx, c, g.listNamespace())
	if err != nil {
		return err
	}
	if len(objs) == 0 && tableFormat(p) {
		noResources(g)
		return nil
	}
	return p.PrintList(objs)
}

func tableFormat(p *printer.Printer) bool {
	return p.Format() == printer.Table || p.Format() == printer.Wide
}

// noResources is kubectl's note for an empty table, on stderr.
func noResources(g *globals) {
	if g.allNamespaces {
		fmt.Fprintln(g.ErrOut, "No resources found")
		return
	}
	fmt.Fprintf(g.ErrOut, "No resources found in %s namespace.\n", g.namespace)
}

// watchObjects prints the objects as they are, then every change, until
// the context ends (Ctrl-C) or podrund ends the stream.
func watchObjects(ctx context.Context, g *globals, k kind, name string) error {
	p, err := g.printer()
	if err != nil {
		return err
	}
	ns := g.listNamespace()
	if name != "" {
		ns = g.namespace
	}
	w, err := g.client().Watch(ctx, k.res, ns, name)
	if err != nil {
		return err
	}
	defer w.Close()
	for {
		ev, err := w.Next()
		if err != nil {
			if errors.Is(err, io.EOF) || ctx.Err() != nil {
				return nil
			}
			return err
		}
		obj, err := k.decode(ev.Object)
		if err != nil {
			return err
		}
		if err := p.PrintWatched(obj); err != nil {
			return err
		}
	}
}

func getImages(ctx context.Context, g *globals, name string) error {
	p, err := g.printer()
	if err != nil {
		return err
	}
	l, err := g.client().ListImages(ctx)
	if err != nil {
		return err
	}
	var objs []any
	for i := range l.Items {
		img := &l.Items[i]
		if name == "" || img.Name == name || img.ID == name || printer.ShortID(img.ID) == name {
			objs = append(objs, img)
		}
	}
	if name != "" {
		if len(objs) == 0 {
			return &client.StatusError{ErrStatus: notFoundStatus("image", name)}
		}
		return p.PrintObject(objs[0])
	}
	if len(objs) == 0 && tableFormat(p) {
		fmt.Fprintln(g.ErrOut, "No images found")
		return nil
	}
	return p.PrintList(objs)
}
