// Command podrund-logger is podrund's container log writer, run by
// containerd's shim once per container (binary:// log driver) as
//
//	podrund-logger cri-logger MAXBYTES,MAXFILES,PATH
//
// the same argv as the fallback "podrund cri-logger" subcommand. It is a
// separate, standard-library-only binary so that each of these processes
// starts fast and stays small (daemon/crilog). Install it beside podrund.
package main

import (
	"fmt"
	"os"

	"github.com/podrun/podrun/daemon/crilog"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] != crilog.Command {
		fmt.Fprintf(os.Stderr, "usage: %s %s MAXBYTES,MAXFILES,PATH (run by containerd's shim for podrund)\n",
			os.Args[0], crilog.Command)
		os.Exit(2)
	}
	os.Exit(crilog.Main(os.Args[2:]))
}
