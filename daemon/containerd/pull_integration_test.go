package containerd

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/podrun/podrun/integration/testimage"
	"github.com/podrun/podrun/supervisor"
)

// testRegistry is a minimal read-only OCI distribution registry on
// 127.0.0.1 (plain HTTP) serving one image as every repository:tag, behind
// basic auth.
type testRegistry struct {
	blobs    map[string][]byte // "sha256:..." → content
	manifest string            // digest of the manifest
	user     string
	pass     string
}

func newTestRegistry(t *testing.T, spec testimage.Spec, user, pass string) *httptest.Server {
	t.Helper()
	reg := &testRegistry{blobs: map[string][]byte{}, user: user, pass: pass}
	files := layoutFiles(t, spec)
	for name, data := range files {
		if enc, ok := strings.CutPrefix(name, "blobs/sha256/"); ok {
			reg.blobs["sha256:"+enc] = data
		}
	}
	var idx ocispec.Index
	if err := json.Unmarshal(files["index.json"], &idx); err != nil {
		t.Fatal(err)
	}
	reg.manifest = idx.Manifests[0].Digest.String()
	srv := httptest.NewServer(reg)
	t.Cleanup(srv.Close)
	return srv
}

func (reg *testRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if u, p, ok := r.BasicAuth(); !ok || u != reg.user || p != reg.pass {
		w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	path := r.URL.Path
	var data []byte
	var dgst, mediaType string
	switch {
	case path == "/v2/" || path == "/v2":
		w.WriteHeader(http.StatusOK)
		return
	case strings.Contains(path, "/manifests/"):
		ref := path[strings.LastIndex(path, "/")+1:]
		if ref != "v1" && ref != reg.manifest {
			http.NotFound(w, r)
			return
		}
		dgst, mediaType = reg.manifest, ocispec.MediaTypeImageManifest
		data = reg.blobs[dgst]
	case strings.Contains(path, "/blobs/"):
		dgst = path[strings.LastIndex(path, "/")+1:]
		var ok bool
		if data, ok = reg.blobs[dgst]; !ok {
			http.NotFound(w, r)
			return
		}
		mediaType = "application/octet-stream"
	default:
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", mediaType)
	w.Header().Set("Docker-Content-Digest", dgst)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	if r.Method != http.MethodHead {
		w.Write(data)
	}
}

func TestPullFromLocalRegistryWithCredentials(t *testing.T) {
	cfgPath := filepath.Join(t.TempDir(), "config.json")
	e := newTestEnvWith(t, func(o *Options) { o.DockerConfig = cfgPath })
	srv := newTestRegistry(t, testimage.Busybox(), "alice", "wonder")
	host := strings.TrimPrefix(srv.URL, "http://")
	ref := host + "/team/pulltest:v1"

	// Without credentials the registry refuses: ErrImagePull.
	_, err := e.rt.PullImage(e.ctx, ref, nil)
	var se *supervisor.StartError
	if !errors.As(err, &se) || se.Reason != "ErrImagePull" {
		t.Fatalf("pull without credentials: %v, want ErrImagePull", err)
	}

	auth := base64.StdEncoding.EncodeToString([]byte("alice:wonder"))
	if err := os.WriteFile(cfgPath, []byte(`{"auths":{"`+host+`":{"auth":"`+auth+`"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var lastDone, lastTotal int64
	st, err := e.rt.PullImage(e.ctx, ref, func(done, total int64) {
		mu.Lock()
		lastDone, lastTotal = done, total
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	if !st.Present || st.Ref != ref || !strings.HasPrefix(st.ID, "sha256:") {
		t.Fatalf("pulled %+v", st)
	}
	mu.Lock()
	if lastTotal <= 0 || lastDone != lastTotal {
		t.Errorf("last progress %d/%d, want all bytes done", lastDone, lastTotal)
	}
	mu.Unlock()
	// The pulled image runs (it was unpacked).
	c := busybox("pulled", "echo", "from-registry")
	c.Image = ref
	e.runPrints("pulled image run", e.pod(c), "from-registry")
	if _, err := e.rt.PullImage(e.ctx, host+"/team/pulltest:missing", nil); !errors.As(err, &se) || se.Reason != "ErrImagePull" {
		t.Fatalf("pull of a missing tag: %v, want ErrImagePull", err)
	}
}
