package containerd

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
)

// shortDir is a temp dir whose socket paths fit a sun_path.
func shortDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "ctrd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// noContainerdOnPath makes a start of an embedded containerd fail loudly
// instead of starting one: these tests must never start containerd.
func noContainerdOnPath(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
}

func TestProbeSocket(t *testing.T) {
	dir := shortDir(t)
	live := filepath.Join(dir, "live.sock")
	ln, err := net.Listen("unix", live)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	stale := staleSocket(t, filepath.Join(dir, "stale.sock"))
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]socketState{live: socketAnswers, filepath.Join(dir, "none.sock"): socketAbsent,
		stale: socketStale, plain: socketOther} {
		if got, err := probeSocket(path); got != want {
			t.Errorf("%s: state %d (%v), want %d", filepath.Base(path), got, err, want)
		}
	}
}

// Without embeddedContainerd, podrund waits for a containerd that comes up
// late, with back-off and a wait report each time, and never starts one
// (before, it started its own at once: with no containerd on PATH that
// was an error).
func TestEnsureContainerdWaitsForLateContainerd(t *testing.T) {
	noContainerdOnPath(t)
	address := filepath.Join(shortDir(t), "containerd.sock")
	var mu sync.Mutex
	var waits []time.Duration
	go func() {
		time.Sleep(2500 * time.Millisecond)
		ln, err := net.Listen("unix", address)
		if err != nil {
			t.Error(err)
			return
		}
		t.Cleanup(func() { ln.Close() })
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	addr, stop, err := EnsureContainerd(ctx, ContainerdOptions{Address: address, Root: t.TempDir(), State: t.TempDir(),
		Logger: zaptest.NewLogger(t), Waiting: func(d time.Duration, why error) {
			mu.Lock()
			waits = append(waits, d)
			mu.Unlock()
		}})
	if err != nil || addr != address {
		t.Fatalf("EnsureContainerd = %q, %v", addr, err)
	}
	stop()
	mu.Lock()
	defer mu.Unlock()
	if len(waits) < 2 || waits[0] != containerdFirstRetry || waits[1] != 2*containerdFirstRetry {
		t.Fatalf("waits %v, want 1s then 2s", waits)
	}
}

// A stale socket file is waited on too without embeddedContainerd: it may
// be the host containerd's, restarting.
func TestEnsureContainerdWaitUntilContextEnds(t *testing.T) {
	noContainerdOnPath(t)
	address := staleSocket(t, filepath.Join(shortDir(t), "containerd.sock"))
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	_, _, err := EnsureContainerd(ctx, ContainerdOptions{Address: address, Logger: zaptest.NewLogger(t)})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), address) {
		t.Fatalf("err %v, want the deadline naming the address", err)
	}
	if _, err := os.Lstat(address); err != nil {
		t.Fatalf("the socket file was touched: %v", err)
	}
}

// With embeddedContainerd, a path that is not a socket is never replaced:
// podrund waits as for anything it does not understand.
func TestEnsureContainerdEmbeddedLeavesNonSocket(t *testing.T) {
	noContainerdOnPath(t)
	address := filepath.Join(shortDir(t), "containerd.sock")
	if err := os.WriteFile(address, []byte("not a socket"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if _, _, err := EnsureContainerd(ctx, ContainerdOptions{Address: address, Embedded: true, Root: t.TempDir(),
		State: t.TempDir(), Logger: zaptest.NewLogger(t)}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want a wait until the deadline", err)
	}
	if data, err := os.ReadFile(address); err != nil || string(data) != "not a socket" {
		t.Fatalf("file changed: %q %v", data, err)
	}
}

// With embeddedContainerd and a stale socket, podrund starts its own: with
// no binary that is the error naming embeddedContainerd (it got that far).
func TestEnsureContainerdEmbeddedReplacesStaleSocketOnly(t *testing.T) {
	noContainerdOnPath(t)
	address := staleSocket(t, filepath.Join(shortDir(t), "containerd.sock"))
	_, _, err := EnsureContainerd(context.Background(), ContainerdOptions{Address: address, Embedded: true,
		Root: t.TempDir(), State: t.TempDir(), Logger: zaptest.NewLogger(t)})
	if err == nil || !strings.Contains(err.Error(), "no containerd binary is on PATH") {
		t.Fatalf("err %v", err)
	}
}

// staleSocket leaves a socket file at path that nobody listens on, as a
// containerd that died leaves its socket.
func staleSocket(t *testing.T, path string) string {
	t.Helper()
	sl, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	sl.(*net.UnixListener).SetUnlinkOnClose(false)
	sl.Close()
	return path
}
