package pull

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podrun/podrun/integration/harness"
)

// registryBin is Debian's docker-registry package (distribution 2.8), the
// registry the developers' guide prescribes for pull tests.
const registryBin = "/usr/bin/docker-registry"

// The one registry account of the tests. The registry checks htpasswd
// lines with bcrypt; golang.org/x/crypto is in podrun's module graph but not
// in go.sum (using it would change the shared go.mod) and apache2-utils'
// htpasswd is not installed, so the hash is fixed here. It was made with
// glibc/libxcrypt's bcrypt (cost 4):
//
//	python3 -c "import crypt; print(crypt.crypt('podrun-pull-secret', '$2b$04$abcdefghijklmnopqrstuu'))"
const (
	testUser     = "podrun"
	testPass     = "podrun-pull-secret"
	testPassHash = "$2b$04$abcdefghijklmnopqrstuuEazue9VIVd353IW5/6aoBhj1iROAfMm"
)

// registry is one docker-registry process on 127.0.0.1.
type registry struct {
	Host       string // 127.0.0.1:PORT
	User, Pass string // set when htpasswd auth is on
	dir        string
	cmd        *exec.Cmd
	exited     chan struct{}
}

// startRegistry runs docker-registry with storage in a temp dir; with
// auth it requires HTTP basic auth (htpasswd) as testUser/testPass. It is
// stopped at cleanup, before the temp dir goes.
func startRegistry(t *testing.T, auth bool) *registry {
	t.Helper()
	r := &registry{dir: t.TempDir()}
	if auth {
		r.User, r.Pass = testUser, testPass
	}
	t.Cleanup(func() {
		if err := r.Stop(); err != nil {
			t.Errorf("stop registry: %v", err)
		}
	})
	// Another process may take the free port before the registry binds
	// it: then try another one.
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if err = r.listenOnFreePort(t); err == nil {
			return r
		}
		if serr := r.Stop(); serr != nil {
			t.Errorf("stop registry that did not get ready: %v", serr)
		}
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	t.Fatal(err)
	return r
}

func (r *registry) listenOnFreePort(t *testing.T) error {
	r.Host = net.JoinHostPort("127.0.0.1", strconv.Itoa(harness.FreePort(t, "127.0.0.1")))
	cfg := filepath.Join(r.dir, "config.yml")
	if err := os.WriteFile(cfg, []byte(r.config(t)), 0o644); err != nil {
		return fmt.Errorf("write registry config: %w", err)
	}
	return r.start(cfg)
}

func (r *registry) config(t *testing.T) string {
	t.Helper()
	c := fmt.Sprintf(`version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: %s
http:
  addr: %s
  secret: podrun-pull-test
`, filepath.Join(r.dir, "storage"), r.Host)
	if r.User == "" {
		return c
	}
	htpasswd := filepath.Join(r.dir, "htpasswd")
	if err := os.WriteFile(htpasswd, []byte(r.User+":"+testPassHash+"\n"), 0o600); err != nil {
		t.Fatalf("write htpasswd: %v", err)
	}
	return c + fmt.Sprintf("auth:\n  htpasswd:\n    realm: podrun-test\n    path: %s\n", htpasswd)
}

func (r *registry) start(cfg string) error {
	logf, err := os.OpenFile(filepath.Join(r.dir, "registry.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open registry log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(registryBin, "serve", cfg)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", registryBin, err)
	}
	r.cmd, r.exited = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(r.exited) }()
	return r.waitReady(15 * time.Second)
}

// waitReady polls GET /v2/ until the registry answers (200, or 401 with auth).
func (r *registry) waitReady(timeout time.Duration) error {
	get := func() (*http.Response, error) { return http.Get("http://" + r.Host + "/v2/") }
	last, err := harness.PollReady(context.Background(), timeout, r.exited, get, http.StatusOK, http.StatusUnauthorized)
	switch {
	case errors.Is(err, harness.ErrExited):
		return fmt.Errorf("docker-registry exited before ready (%v): %s", r.cmd.ProcessState, r.log())
	case err != nil:
		return fmt.Errorf("docker-registry not ready on %s within %v (last: %s): %s", r.Host, timeout, last, r.log())
	}
	return nil
}

func (r *registry) log() string {
	b, _ := os.ReadFile(filepath.Join(r.dir, "registry.log"))
	return string(b)
}

// Stop ends the registry (SIGTERM, SIGKILL after 10 s); stopping a stopped
// registry is a no-op.
func (r *registry) Stop() error {
	return harness.StopProcess("docker-registry", r.cmd, r.exited, syscall.SIGTERM, 10*time.Second)
}

// ctxTimeout is a short context for one registry request.
func ctxTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
