package containerd

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/podrun/podrun/integration/harness"
)

func TestEnsureContainerdUsesRunningOne(t *testing.T) {
	addr, stop, err := EnsureContainerd(context.Background(), ContainerdOptions{Address: testContainerd.Address,
		Root: t.TempDir(), State: t.TempDir(), Embedded: true, Logger: zaptest.NewLogger(t)})
	if err != nil || addr != testContainerd.Address {
		t.Fatalf("EnsureContainerd = %s, %v; want the running containerd", addr, err)
	}
	stop() // a no-op for a containerd podrund did not start
	if !answers(testContainerd.Address) {
		t.Fatal("stop func stopped a containerd podrund did not start")
	}
}

func TestEnsureContainerdStartsItsOwn(t *testing.T) {
	dir := t.TempDir()
	root, state := filepath.Join(dir, "root"), filepath.Join(dir, "state")
	address := filepath.Join(state, "containerd", "containerd.sock")
	t.Cleanup(func() {
		harness.KillProcessesMentioning(dir)
		harness.UnmountUnder(dir)
	})
	ctx := context.Background()
	addr, stop, err := EnsureContainerd(ctx, ContainerdOptions{Address: address, Root: root, State: state,
		Embedded: true, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if addr != address || !answers(address) {
		t.Fatalf("embedded containerd: address %s, answering %v", addr, answers(address))
	}
	rt, err := New(ctx, Options{Address: addr, Namespace: "embedded", Root: root, State: state})
	if err != nil {
		stop()
		t.Fatal(err)
	}
	v, err := rt.Version(ctx)
	rt.Close()
	if err != nil || v == "" {
		t.Errorf("version of embedded containerd: %q, %v", v, err)
	}
	stop()
	deadline := time.Now().Add(5 * time.Second)
	for answers(address) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if answers(address) {
		t.Fatal("embedded containerd still answers after stop")
	}
	if procs := harness.ProcessesMentioning(dir); len(procs) > 0 {
		t.Fatalf("processes left: %v", procs)
	}
	cfg := ContainerdConfig(address, "/r", "/s")
	if !strings.Contains(cfg, `"io.containerd.grpc.v1.cri"`) || !strings.Contains(cfg, `address = "`+address+`"`) {
		t.Fatalf("config lacks the CRI opt-out or the address:\n%s", cfg)
	}
}
