package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/podrun/podrun/api/client"
	"github.com/podrun/podrun/api/printer"
)

// streams are podctl's standard streams (pipes in tests).
type streams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
}

// globals are the global flags and what every command derives from them.
type globals struct {
	streams
	socket        string
	namespace     string
	allNamespaces bool
	output        string
	// now is the clock of printed ages; tests fix it.
	now func() time.Time
}

// client dials podrund; podrund's warnings go to stderr as kubectl prints
// the API server's, each once per command.
func (g *globals) client() *client.Client {
	c := client.New(g.socket)
	seen := map[string]bool{}
	c.OnWarning(func(text string) {
		if !seen[text] {
			seen[text] = true
			fmt.Fprintf(g.ErrOut, "Warning: %s\n", text)
		}
	})
	return c
}

func (g *globals) printer() (*printer.Printer, error) {
	return printer.New(g.Out, printer.Options{Format: g.output, AllNamespaces: g.allNamespaces, Now: g.now})
}

// listNamespace is the namespace a list or watch covers: "" with -A.
func (g *globals) listNamespace() string {
	if g.allNamespaces {
		return ""
	}
	return g.namespace
}

func newRootCommand(s streams) *cobra.Command {
	g := &globals{streams: s, now: time.Now}
	root := &cobra.Command{
		Use:           "podctl",
		Short:         "podctl controls podrund: Kubernetes pods, jobs, configmaps and secrets on one host",
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.ErrOut)
	pf := root.PersistentFlags()
	pf.StringVar(&g.socket, "socket", "", "podrund's API socket (env "+client.SocketEnv+", default "+client.DefaultSocket+")")
	pf.StringVarP(&g.namespace, "namespace", "n", "default", "namespace of the objects")
	pf.BoolVarP(&g.allNamespaces, "all-namespaces", "A", false, "list objects of every namespace")
	pf.StringVarP(&g.output, "output", "o", "", "output format: table|wide|json|yaml|name")
	root.AddCommand(
		newApplyCommand(g),
		newGetCommand(g),
		newDescribeCommand(g),
		newLogsCommand(g),
		newExecCommand(g),
		newPortForwardCommand(g),
		newKubeconfigCommand(g),
		newDeleteCommand(g),
		newWaitCommand(g),
		newImageCommand(g),
		newVersionCommand(g),
		newTimelineCommand(g),
		newTopCommand(g),
		newCreateCommand(g),
	)
	addCompletions(g, root)
	return root
}

// run executes podctl with args and returns its exit code.
func run(ctx context.Context, args []string, s streams) int {
	root := newRootCommand(s)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(s.ErrOut, ee.msg)
		}
		return ee.code
	}
	fmt.Fprintln(s.ErrOut, errorMessage(err))
	return 1
}
