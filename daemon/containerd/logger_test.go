package containerd

import (
	"os"
	"path/filepath"
	"testing"
)

func writeExe(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), mode); err != nil {
		t.Fatal(err)
	}
}

// The small writer beside podrund wins over one on PATH; without either,
// podrund's own subcommand is the fallback.
func TestFindLoggerOrder(t *testing.T) {
	bin, onPath := t.TempDir(), t.TempDir()
	exe := filepath.Join(bin, "podrund")
	writeExe(t, exe, 0o755)
	t.Setenv("PATH", onPath)

	if got := FindLogger(exe); got != (LoggerChoice{Path: exe, Fallback: true}) {
		t.Fatalf("no writer installed: %+v, want podrund itself as fallback", got)
	}
	writeExe(t, filepath.Join(onPath, LoggerBinaryName), 0o755)
	if got := FindLogger(exe); got != (LoggerChoice{Path: filepath.Join(onPath, LoggerBinaryName)}) {
		t.Fatalf("writer on PATH: %+v", got)
	}
	beside := filepath.Join(bin, LoggerBinaryName)
	writeExe(t, beside, 0o644) // not executable: skipped
	if got := FindLogger(exe); got.Path != filepath.Join(onPath, LoggerBinaryName) {
		t.Fatalf("non-executable file beside podrund chosen: %+v", got)
	}
	os.Chmod(beside, 0o755)
	if got := FindLogger(exe); got != (LoggerChoice{Path: beside}) {
		t.Fatalf("writer beside podrund: %+v, want %s", got, beside)
	}
}

func TestConfiguredLoggerBinaryIsUsedAsGiven(t *testing.T) {
	got, err := loggerBinary("/opt/x/podrund-logger")
	if err != nil || got != (LoggerChoice{Path: "/opt/x/podrund-logger"}) {
		t.Fatalf("loggerBinary = %+v, %v", got, err)
	}
}
