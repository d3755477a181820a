package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOldPolicyKeysStopTheStart: a config file written for the policy
// before policy.level makes podrund refuse to start and say what to write
// instead, rather than run with a policy weaker than its author meant.
func TestOldPolicyKeysStopTheStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "podrund.yaml")
	if err := os.WriteFile(path, []byte("policy:\n  allowPrivileged: false\n  allowedHostPaths: [/srv]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := execute([]string{"--config", path}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "policy.allowPrivileged is replaced by policy.level: use level: privileged (or baseline)") {
		t.Fatalf("start with allowPrivileged: %v", err)
	}
}
