package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/api/client"
)

func newImageCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image import FILE | ls | pull REF | rm REF",
		Short: "Manage the images of podrund's containerd namespace",
	}
	cmd.AddCommand(
		&cobra.Command{
			Use:   "import FILE|-",
			Short: "Import an image tarball (OCI layout or docker-archive)",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return importImage(cmd.Context(), g, args[0])
			},
		},
		&cobra.Command{
			Use:     "ls",
			Aliases: []string{"list"},
			Short:   "List images",
			Args:    cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return getImages(cmd.Context(), g, "")
			},
		},
		imageRefCommand(g, "pull REF", "Pull an image from its registry", "pulled", (*client.Client).PullImage),
		imageRefCommand(g, "rm REF", "Remove an image", "removed", (*client.Client).RemoveImage, "remove"),
	)
	return cmd
}

// imageRefCommand is `image pull REF` and `image rm REF`: one call on the
// reference, then the image it acted on, with verb.
func imageRefCommand(g *globals, use, short, verb string, call func(*client.Client, context.Context, string) (*api.Image, error), aliases ...string) *cobra.Command {
	return &cobra.Command{
		Use:     use,
		Aliases: aliases,
		Short:   short,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			img, err := call(g.client(), cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printImages(g, verb, img)
		},
	}
}

func importImage(ctx context.Context, g *globals, path string) error {
	var rd io.Reader = g.In
	if path != "-" {
		f, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("the path %q does not exist", path)
		}
		if err != nil {
			return fmt.Errorf("open image archive: %w", err)
		}
		defer f.Close()
		rd = f
	}
	l, err := g.client().ImportImage(ctx, rd)
	if err != nil {
		return err
	}
	imgs := make([]*api.Image, len(l.Items))
	for i := range l.Items {
		imgs[i] = &l.Items[i]
	}
	return printImages(g, "imported", imgs...)
}

// printImages prints "image/NAME VERB" lines, or the images with -o.
func printImages(g *globals, verb string, imgs ...*api.Image) error {
	if g.output != "" {
		p, err := g.printer()
		if err != nil {
			return err
		}
		objs := make([]any, len(imgs))
		for i, img := range imgs {
			objs[i] = img
		}
		if len(objs) == 1 {
			return p.PrintObject(objs[0])
		}
		return p.PrintList(objs)
	}
	for _, img := range imgs {
		fmt.Fprintf(g.Out, "image/%s %s\n", img.Name, verb)
	}
	return nil
}
