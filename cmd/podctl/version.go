package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

func newVersionCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print podctl's and podrund's versions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(g.Out, "Client Version: %s\n", clientVersion())
			v, err := g.client().Version(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(g.Out, "Server Version: %s\n", v.Version)
			if v.GitCommit != "" {
				fmt.Fprintf(g.Out, "Server Git Commit: %s\n", v.GitCommit)
			}
			fmt.Fprintf(g.Out, "Server Go Version: %s\n", v.GoVersion)
			if v.Containerd != "" {
				fmt.Fprintf(g.Out, "containerd Version: %s\n", v.Containerd)
			}
			return nil
		},
	}
}

// clientVersion comes from the build information Go embeds: the module
// version, or the VCS revision of a development build.
func clientVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown (" + runtime.Version() + ")"
	}
	v := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " (" + s.Value[:12] + ")"
		}
	}
	return v + " " + runtime.Version()
}
