package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/remotecommand"

	"github.com/podrun/podrun/api/client"
)

type execFlags struct {
	container string
	stdin     bool
	tty       bool
}

func newExecCommand(g *globals) *cobra.Command {
	var f execFlags
	cmd := &cobra.Command{
		Use:   "exec POD [-c CONTAINER] [-i] [-t] -- COMMAND [ARG...]",
		Short: "Run a command in a container of a pod",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pod, command := args[0], args[1:]
			if dash := cmd.ArgsLenAtDash(); dash > 1 {
				return fmt.Errorf("exec takes one pod before --, got %v", args[:dash])
			}
			if len(command) == 0 {
				return errors.New("you must specify at least one command for the container")
			}
			return execCommand(cmd.Context(), g, pod, command, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.container, "container", "c", "", "container name (default: the pod's default-container annotation, else its first container)")
	fl.BoolVarP(&f.stdin, "stdin", "i", false, "pass stdin to the command")
	fl.BoolVarP(&f.tty, "tty", "t", false, "run the command in a terminal")
	return cmd
}

func execCommand(ctx context.Context, g *globals, pod string, command []string, f execFlags) error {
	c := g.client()
	// Look at the pod first, as kubectl does: a missing pod is the
	// server's NotFound, a finished one is refused before any upgrade.
	var p corev1.Pod
	if err := c.Get(ctx, client.Pods, g.namespace, pod, &p); err != nil {
		return err
	}
	if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
		return fmt.Errorf("cannot exec into a container in a completed pod; current phase is %s", p.Status.Phase)
	}
	if f.container == "" {
		name, err := podDefaultContainer(&p)
		if err != nil {
			return err
		}
		f.container = name
	}
	o := client.ExecOptions{Container: f.container, Command: command, Stdout: g.Out, Stderr: g.ErrOut}
	if f.stdin {
		o.Stdin = g.In
	}
	if f.tty {
		restore, sizes, err := setupTerminal(ctx, g, f.stdin)
		if err != nil {
			fmt.Fprintf(g.ErrOut, "Unable to use a TTY - %v\n", err)
		} else {
			defer restore()
			o.TTY, o.Resize = true, sizes
		}
	}
	code, err := c.Exec(ctx, g.namespace, pod, o)
	if err != nil {
		return err
	}
	if code != 0 {
		return &exitError{code: code}
	}
	return nil
}

// setupTerminal sends the terminal's size now and on every SIGWINCH and,
// when stdin is passed on (raw), puts the terminal into raw mode so that
// every key reaches the command. Without stdin the terminal stays cooked:
// Ctrl-C must still stop podctl. restore undoes both.
func setupTerminal(ctx context.Context, g *globals, raw bool) (restore func(), sizes sizeQueue, err error) {
	in, ok := g.In.(*os.File)
	if !ok || !term.IsTerminal(int(in.Fd())) {
		return nil, nil, errors.New("input is not a terminal or the right kind of file")
	}
	sizeFd := int(in.Fd())
	if out, ok := g.Out.(*os.File); ok && term.IsTerminal(int(out.Fd())) {
		sizeFd = int(out.Fd())
	}
	var state *term.State
	if raw {
		if state, err = term.MakeRaw(int(in.Fd())); err != nil {
			return nil, nil, fmt.Errorf("make the terminal raw: %w", err)
		}
	}
	ch := make(chan remotecommand.TerminalSize, 1)
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	ctx, cancel := context.WithCancel(ctx)
	send := func() {
		w, h, err := term.GetSize(sizeFd)
		if err != nil {
			return
		}
		select { // the newest size wins over one not yet sent
		case <-ch:
		default:
		}
		ch <- remotecommand.TerminalSize{Width: uint16(w), Height: uint16(h)}
	}
	send()
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-ctx.Done():
				return
			case <-winch:
				send()
			}
		}
	}()
	restore = func() {
		cancel()
		<-stopped
		close(ch) // the executor's size reader ends
		signal.Stop(winch)
		if state != nil {
			_ = term.Restore(int(in.Fd()), state)
		}
	}
	return restore, ch, nil
}

// sizeQueue hands the terminal's sizes to client-go's executor; nil once
// the terminal is restored.
type sizeQueue chan remotecommand.TerminalSize

func (q sizeQueue) Next() *remotecommand.TerminalSize {
	sz, ok := <-q
	if !ok {
		return nil
	}
	return &sz
}
