package robust

import (
	"context"
	"crypto/rand"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// TestCorruptStore: a store file full of garbage, and a torn (truncated)
// one, are moved aside with a log line naming them, and podrund starts
// with an empty store that works.
func TestCorruptStore(t *testing.T) {
	t.Parallel()
	d := env.PrivateDaemon(t)
	c := freshClient(t, d)
	db := filepath.Join(d.Root, "podrund.db")
	cases := []struct {
		name    string
		corrupt func() error
	}{
		{"garbage", func() error {
			junk := make([]byte, 64<<10)
			_, _ = rand.Read(junk)
			return os.WriteFile(db, junk, 0o600)
		}},
		{"truncated", func() error {
			fi, err := os.Stat(db)
			if err != nil {
				return err
			}
			return os.Truncate(db, fi.Size()/3)
		}},
	}
	for i, tc := range cases {
		// Something committed, so the truncated file is a real store cut short.
		cm := &corev1.ConfigMap{TypeMeta: typeMeta("v1", "ConfigMap"), ObjectMeta: objectMeta("cm-" + tc.name),
			Data: map[string]string{"k": strings.Repeat("v", 32<<10)}}
		applyAll(t, c, cm)
		if err := d.Stop(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := tc.corrupt(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		err := d.Start(ctx)
		cancel()
		if err != nil {
			t.Fatalf("%s store: podrund did not start: %v", tc.name, err)
		}
		log, _ := os.ReadFile(d.LogPath)
		if n := strings.Count(string(log), "store is corrupt; moving it aside"); n != i+1 {
			t.Errorf("%s store: %d log lines about the corrupt store, want %d\n%s", tc.name, n, i+1, d.LogTail(20))
		}
		aside, _ := filepath.Glob(db + ".corrupt-*")
		if len(aside) == 0 {
			t.Errorf("%s store: not moved aside (no %s.corrupt-*)", tc.name, db)
		}
		// The fresh store works: the object is gone, a new one is kept.
		if code, _ := c.REST(http.MethodGet, "/api/v1/namespaces/"+c.NS+"/configmaps/cm-"+tc.name, "", nil); code != http.StatusNotFound {
			t.Errorf("%s store: configmap after moving the store aside: HTTP %d, want 404", tc.name, code)
		}
	}
	applyAll(t, c, newPod(c, "after", corev1.RestartPolicyNever, nil, shell("app", "exit 0")))
	c.WaitFor("after", "Succeeded on the fresh store", time.Minute, func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodSucceeded
	})
}
