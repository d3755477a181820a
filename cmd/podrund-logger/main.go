// Command podrund-logger is podrund's container log writer. As the shared
// writer podrund starts it once, detached, as
//
//	podrund-logger log-writer --state DIR
//
// and it writes the logs of every container from their FIFOs, outliving
// podrund restarts (crilog.Serve). Without it, or as the fallback, the
// shim runs it once per container (binary:// log driver) as
//
//	podrund-logger cri-logger MAXBYTES,MAXFILES,PATH
//
// the same argv as the fallback "podrund cri-logger" subcommand. It is a
// separate, standard-library-only binary so that it starts fast and stays
// small (daemon/crilog). Install it beside podrund.
package main

import (
	"fmt"
	"os"

	"github.com/podrun/podrun/daemon/crilog"
)

func main() {
	if len(os.Args) >= 2 && os.Args[1] == crilog.ServeCommand {
		os.Exit(crilog.ServeMain(os.Args[2:]))
	}
	if len(os.Args) < 2 || os.Args[1] != crilog.Command {
		fmt.Fprintf(os.Stderr, "usage: %s %s MAXBYTES,MAXFILES,PATH (run by containerd's shim for podrund)\n"+
			"       %s %s --state DIR (the shared writer, started by podrund)\n",
			os.Args[0], crilog.Command, os.Args[0], crilog.ServeCommand)
		os.Exit(2)
	}
	os.Exit(crilog.Main(os.Args[2:]))
}
