package containerd

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestContainerLogWriters runs a container under each log writer: the
// shared one; one per container when configured so; and one per container
// as the fallback when the shared one cannot be started. The logger
// binary is a wrapper that records how it was run (and, for the fallback,
// refuses to be the shared writer). Each time the log is complete and
// nothing of the shared writer's is left behind.
func TestContainerLogWriters(t *testing.T) {
	for _, tc := range []struct {
		name         string
		perContainer bool
		refuseShared bool
		want         []string // the wrapper's first arguments, deduplicated, in order
	}{
		{name: "shared", want: []string{WriterCommand}},
		{name: "per container", perContainer: true, want: []string{LoggerCommand}},
		{name: "fallback", refuseShared: true, want: []string{WriterCommand, LoggerCommand}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			calls := filepath.Join(dir, "calls")
			refuse := ""
			if tc.refuseShared {
				refuse = fmt.Sprintf(`[ "$1" = %s ] && exit 3`, WriterCommand)
			}
			wrapper := filepath.Join(dir, "logger")
			script := fmt.Sprintf("#!/bin/sh\necho \"$1\" >> %s\n%s\nexec %s \"$@\"\n", calls, refuse, testExecutable(t))
			if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			e := newTestEnvWith(t, func(o *Options) { o.LoggerBinary, o.PerContainerLogWriter = wrapper, tc.perContainer })
			inst, st := e.run(e.pod(busybox("both", "sh", "-c", "echo to-stdout; echo to-stderr >&2")))
			recs := readRecords(t, inst.LogPath)
			slices.SortFunc(recs, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
			if st.ExitCode != 0 || fmt.Sprint(recs) != "[[stderr F to-stderr] [stdout F to-stdout]]" {
				t.Fatalf("exit %d, records %q", st.ExitCode, recs)
			}
			raw, _ := os.ReadFile(calls)
			got := slices.Compact(strings.Fields(string(raw)))
			if !slices.Equal(got, tc.want) {
				t.Errorf("logger run as %q, want %q", got, tc.want)
			}
			if left := e.rt.logw.Stored(); len(left) > 0 {
				t.Errorf("attachments left: %v", left)
			}
			if left := e.rt.logw.FIFOOwners(); len(left) > 0 {
				t.Errorf("FIFO dirs left: %v", left)
			}
		})
	}
}

// TestLogWriterAttachmentsOfLostContainersDroppedAtStart: podrund died
// between registering a container's FIFOs and creating its task, so the
// writer holds an attachment no shim will ever open. The next podrund
// drops it at start, and the writer, with nothing left, exits.
func TestLogWriterAttachmentsOfLostContainersDroppedAtStart(t *testing.T) {
	e := newTestEnv(t)
	spec := LoggerSpec{Path: filepath.Join(e.root, "logs", "ghost", "0.log")}
	if _, err := e.rt.attachLog("ghost", spec, false); err != nil {
		t.Fatal(err)
	}
	if got := e.rt.logw.Stored(); !slices.Equal(got, []string{"ghost"}) {
		t.Fatalf("stored attachments %q, want ghost", got)
	}
	next, err := New(e.ctx, e.opts)
	if err != nil {
		t.Fatal(err)
	}
	defer next.Close()
	if left := next.logw.Stored(); len(left) > 0 {
		t.Errorf("attachments left after start: %v", left)
	}
	if left := next.logw.FIFOOwners(); len(left) > 0 {
		t.Errorf("FIFO dirs left after start: %v", left)
	}
}
