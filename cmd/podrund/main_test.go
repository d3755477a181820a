package main

import (
	"bytes"
	"strings"
	"testing"
)

// The command line is docs/contract.md §1's: --help lists every flag with its
// default, --version prints the version, and anything else is an error
// before the daemon starts (no containerd needed to see these).
func TestCommandLine(t *testing.T) {
	var out bytes.Buffer
	if err := execute([]string{"--help"}, &out); err != nil {
		t.Fatalf("--help: %v", err)
	}
	help := out.String()
	if !strings.HasPrefix(help, short+"\n\nUsage:\n  podrund [flags]\n\nFlags:\n") {
		t.Fatalf("--help heading:\n%s", help)
	}
	for _, f := range []string{"--socket string", "--root string", "--state string", "--containerd-address string",
		"--namespace string", "--config string", "--log-level string", "--pprof", "--prepare-ahead",
		"-h, --help", "-v, --version", `(default "info")`} {
		if !strings.Contains(help, f) {
			t.Errorf("--help lacks %q:\n%s", f, help)
		}
	}
	if strings.Index(help, "--config") > strings.Index(help, "--socket") {
		t.Errorf("--help flags not sorted:\n%s", help)
	}
	for _, args := range [][]string{{"--version"}, {"-v"}} {
		out.Reset()
		if err := execute(args, &out); err != nil || out.String() != "podrund version "+version+"\n" {
			t.Errorf("%v: %q, %v", args, out.String(), err)
		}
	}
	out.Reset()
	if err := execute([]string{"-h", "--log-level", "loud"}, &out); err != nil || !strings.Contains(out.String(), "Usage:") {
		t.Errorf("-h with other flags must print help only: %v", err)
	}
	for args, want := range map[string]string{
		"serve":   `unknown command "serve" for "podrund"`,
		"--bogus": "unknown flag: --bogus",
		"--root":  "flag needs an argument: --root",
	} {
		out.Reset()
		err := execute(strings.Fields(args), &out)
		if err == nil || err.Error() != want {
			t.Errorf("%s: error %v, want %q", args, err, want)
		}
		if out.Len() != 0 {
			t.Errorf("%s: printed %q on stdout", args, out.String())
		}
	}
}
