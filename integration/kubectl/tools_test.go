package kubectl

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podrun/podrun/integration/harness"
)

// clients are the built programs.
type clients struct{ kubectl, clientgo string }

var (
	buildOnce sync.Once
	built     clients
	buildErr  error
)

// kubeClients builds kubectl and clientgo once per test binary into a
// cache directory keyed by the module's sources, so that a second run
// (and CI's second job on one machine) reuses them; the Go build cache
// makes a rebuild after a change cheap too.
func kubeClients(t *testing.T) clients {
	t.Helper()
	buildOnce.Do(func() { built, buildErr = buildKubeClients() })
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return built
}

func buildKubeClients() (clients, error) {
	root, err := harness.ModuleRoot()
	if err != nil {
		return clients{}, err
	}
	src := filepath.Join(root, "integration", "kubeclients")
	key, err := sourceKey(src)
	if err != nil {
		return clients{}, err
	}
	cacheRoot, err := os.UserCacheDir()
	if err != nil {
		cacheRoot = os.TempDir()
	}
	dir := filepath.Join(cacheRoot, "podrun-kubeclients", key)
	c := clients{kubectl: filepath.Join(dir, "kubectl"), clientgo: filepath.Join(dir, "clientgo")}
	if exists(c.kubectl) && exists(c.clientgo) {
		return c, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return clients{}, err
	}
	// kubectl reports the release it was built from; without these it
	// says v0.0.0 and warns about the version skew.
	ldflags := "-X k8s.io/component-base/version.gitVersion=v1.37.2 " +
		"-X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37"
	for _, job := range []struct{ out, pkg string }{{c.kubectl, "./cmd/kubectl"}, {c.clientgo, "./cmd/clientgo"}} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
		tmp := job.out + ".tmp"
		cmd := exec.CommandContext(ctx, "go", "build", "-ldflags", ldflags, "-o", tmp, job.pkg)
		cmd.Dir = src
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			return clients{}, fmt.Errorf("go build %s in %s: %w\n%s", job.pkg, src, err, out)
		}
		if err := os.Rename(tmp, job.out); err != nil {
			return clients{}, err
		}
	}
	return c, nil
}

// sourceKey hashes every file of the kubeclients module.
func sourceKey(src string) (string, error) {
	var files []string
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		return "", err
	}
	sort.Strings(files)
	h := sha256.New()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", strings.TrimPrefix(f, src), len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// kube is one test's kubectl: the built programs, the kubeconfig that
// podctl printed, and the test's namespace.
type kube struct {
	t          *testing.T
	bin        clients
	kubeconfig string
	ns         string
}

// run runs kubectl with the test's namespace and returns stdout, stderr
// and the exit code; stdin may be nil.
func (k *kube) run(stdin io.Reader, args ...string) (string, string, int) {
	k.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return k.cmd(ctx, k.bin.kubectl, stdin, append([]string{"-n", k.ns}, args...)...)
}

func (k *kube) cmd(ctx context.Context, bin string, stdin io.Reader, args ...string) (string, string, int) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+k.kubeconfig, "HOME="+filepath.Dir(k.kubeconfig))
	cmd.Stdin = stdin
	return harness.RunCmd(cmd)
}

// must runs kubectl and fails the test unless it exits 0.
func (k *kube) must(args ...string) string {
	k.t.Helper()
	out, errOut, code := k.run(nil, args...)
	if code != 0 {
		k.t.Fatalf("kubectl %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// apply pipes a manifest into kubectl apply -f - with extra flags.
func (k *kube) apply(manifest string, flags ...string) string {
	k.t.Helper()
	args := append([]string{"apply", "-f", "-"}, flags...)
	out, errOut, code := k.run(strings.NewReader(manifest), args...)
	if code != 0 {
		k.t.Fatalf("kubectl %s: exit %d\nstdout: %s\nstderr: %s\nmanifest:\n%s", strings.Join(args, " "), code, out, errOut, manifest)
	}
	return out
}

// background starts kubectl and returns its growing output (stdout and
// stderr) and a stop function that kills it and waits.
func (k *kube) background(args ...string) (outputFile, func()) {
	k.t.Helper()
	out := outputFile(filepath.Join(k.t.TempDir(), "kubectl.out"))
	f, err := os.Create(string(out))
	if err != nil {
		k.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, k.bin.kubectl, append([]string{"-n", k.ns}, args...)...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+k.kubeconfig, "HOME="+filepath.Dir(k.kubeconfig))
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		cancel()
		f.Close()
		k.t.Fatalf("start kubectl %s: %v", strings.Join(args, " "), err)
	}
	stop := func() { cancel(); _ = cmd.Wait(); f.Close() }
	k.t.Cleanup(stop)
	return out, stop
}

// outputFile is a file a background program writes its output to: the
// test reads what it has written so far while it runs, without sharing
// a buffer with it.
type outputFile string

func (f outputFile) String() string {
	b, _ := os.ReadFile(string(f))
	return string(b)
}
