package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/podrun/podrun/api/printer"
)

func newTimelineCommand(g *globals) *cobra.Command {
	var width int
	cmd := &cobra.Command{
		Use:   "timeline POD",
		Short: "Draw every container instance of a pod on one time axis (start order, restarts, shutdown order)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := g.client().Timeline(cmd.Context(), g.namespace, args[0])
			if err != nil {
				return err
			}
			switch g.output {
			case "json":
				enc := json.NewEncoder(g.Out)
				enc.SetIndent("", "  ")
				return enc.Encode(t)
			case "", "table", "wide":
			default:
				return fmt.Errorf("timeline prints a drawing or -o json, not %q", g.output)
			}
			if width <= 0 {
				width = terminalWidth(g)
			}
			return printer.DrawTimeline(g.Out, t, width)
		},
	}
	cmd.Flags().IntVar(&width, "width", 0, "columns to draw in (default: the terminal's width, else 100)")
	return cmd
}

// terminalWidth is stdout's terminal width, or 100 when it is not one.
func terminalWidth(g *globals) int {
	if f, ok := g.Out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 0 {
			return w
		}
	}
	return 100
}
