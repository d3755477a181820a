// Package crilog owns podrun's container logs. Its writer turns a
// container's stdout and stderr into a CRI-format log file ("TIMESTAMP
// STREAM F|P LINE"), rotated by size. It runs outside podrund, so logging
// goes on while podrund is down: as one shared process for all containers
// (Serve, reading the FIFOs the shims write; podrund's side is Writer), or,
// as the fallback, once per container started by containerd's shim through
// the binary:// log driver (Main). Its reader (Streamer, Tail) is the one parser of those
// records, for the log endpoint and termination messages. And it alone
// knows where the files are and how rotated ones are named (layout.go),
// for the runtime that creates and removes them and the eviction monitor
// that measures them.
//
// It imports the standard library only: the shim starts one writer per
// container, and a small binary (cmd/podrund-logger) starts in about a
// millisecond and keeps little private memory, where the whole podrund
// binary pays for its package init and its mapped pages in every
// container. Keep it that way (go list -deps ./daemon/crilog).
package crilog

import (
	"fmt"
	"strconv"
	"strings"
)

// Command is the first argument of the writer's argv, "<bin> cri-logger
// MAXBYTES,MAXFILES,PATH": the key of the binary:// URI's query, which the
// shim turns into arguments. podrund dispatches on it for its fallback
// subcommand; cmd/podrund-logger accepts it too, so both take one argv.
const Command = "cri-logger"

// MaxLine is the longest line written as one record; longer lines are split
// into partial (P) records, as containerd's CRI does.
const MaxLine = 16 * 1024

// Spec is the writer's configuration, passed as one argument.
type Spec struct {
	Path     string
	MaxBytes int64 // rotate before a record would pass it; 0: never
	MaxFiles int   // files kept in all, the live one included
}

// String encodes the spec as "MAXBYTES,MAXFILES,PATH" (path last: it may
// hold commas).
func (s Spec) String() string {
	return strconv.FormatInt(s.MaxBytes, 10) + "," + strconv.Itoa(s.MaxFiles) + "," + s.Path
}

// ParseSpec decodes Spec.String.
func ParseSpec(s string) (Spec, error) {
	parts := strings.SplitN(s, ",", 3)
	if len(parts) != 3 || parts[2] == "" {
		return Spec{}, fmt.Errorf("logger spec %q: want MAXBYTES,MAXFILES,PATH", s)
	}
	maxBytes, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil {
		return Spec{}, fmt.Errorf("logger spec %q: max bytes: %w", s, err)
	}
	maxFiles, err := strconv.Atoi(parts[1])
	if err != nil {
		return Spec{}, fmt.Errorf("logger spec %q: max files: %w", s, err)
	}
	return Spec{Path: parts[2], MaxBytes: maxBytes, MaxFiles: maxFiles}, nil
}
