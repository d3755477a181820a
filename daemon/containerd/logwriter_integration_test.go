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
