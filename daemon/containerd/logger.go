package containerd

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/podrun/podrun/daemon/crilog"
)

// LoggerCommand is the first argument with which the shim runs the log
// writer: "<bin> cri-logger MAXBYTES,MAXFILES,PATH", for podrund-logger
// and for podrund's own fallback subcommand alike.
const LoggerCommand = crilog.Command

// LoggerBinaryName is the small log writer (cmd/podrund-logger) installed
// beside podrund.
const LoggerBinaryName = "podrund-logger"

// LoggerSpec is the log writer's configuration, passed as one argument.
type LoggerSpec = crilog.Spec

// LoggerMain is podrund's fallback log writer, used when podrund-logger is
// not installed: cmd/podrund dispatches on os.Args[1] == LoggerCommand and
// calls os.Exit(LoggerMain(os.Args[2:])). See crilog.Main.
func LoggerMain(args []string) int { return crilog.Main(args) }

// WriterCommand is the shared log writer's first argument, for
// podrund-logger and podrund's fallback subcommand alike:
// "<bin> log-writer --state DIR".
const WriterCommand = crilog.ServeCommand

// WriterMain is podrund's fallback shared log writer: cmd/podrund
// dispatches on os.Args[1] == WriterCommand. See crilog.ServeMain.
func WriterMain(args []string) int { return crilog.ServeMain(args) }

// LoggerChoice is the log writer the shims will run.
type LoggerChoice struct {
	Path     string // executable
	Fallback bool   // podrund's own cri-logger subcommand (Path is podrund)
}

// FindLogger picks the log writer: podrund-logger beside exe (podrund's
// executable), else on PATH, else exe itself with its cri-logger
// subcommand, which starts ~5× slower and keeps more memory per container.
func FindLogger(exe string) LoggerChoice {
	beside := filepath.Join(filepath.Dir(exe), LoggerBinaryName)
	if isExecutable(beside) {
		return LoggerChoice{Path: beside}
	}
	if p, err := exec.LookPath(LoggerBinaryName); err == nil {
		if abs, err := filepath.Abs(p); err == nil {
			return LoggerChoice{Path: abs}
		}
	}
	return LoggerChoice{Path: exe, Fallback: true}
}

func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0
}

// loggerBinary resolves Options.LoggerBinary: as given, else FindLogger
// from this process's executable.
func loggerBinary(configured string) (LoggerChoice, error) {
	if configured != "" {
		return LoggerChoice{Path: configured}, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return LoggerChoice{}, fmt.Errorf("find podrund executable for the log writer: %w", err)
	}
	return FindLogger(exe), nil
}
