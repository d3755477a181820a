package robust

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

// nsWatch records every pod event of a namespace (the daemon's watch
// stream), so tests can check that no update during a restart flaps.
type nsWatch struct {
	cancel context.CancelFunc
	mu     sync.Mutex
	events []watched
	ended  chan struct{}
}

type watched struct {
	Type string
	Pod  *corev1.Pod
}

func watchNamespace(t *testing.T, d *harness.Podrund, ns string) *nsWatch {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &nsWatch{cancel: cancel, ended: make(chan struct{})}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet,
		"http://podrund/api/v1/namespaces/"+ns+"/pods?watch=true", nil)
	resp, err := harness.UnixClient(d.Socket).Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		cancel()
		t.Fatalf("watch namespace %s: %v %v", ns, err, resp)
	}
	go func() {
		defer close(w.ended)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			var ev struct {
				Type   string     `json:"type"`
				Object corev1.Pod `json:"object"`
			}
			if json.Unmarshal(sc.Bytes(), &ev) != nil {
				continue
			}
			w.mu.Lock()
			w.events = append(w.events, watched{ev.Type, &ev.Object})
			w.mu.Unlock()
		}
	}()
	t.Cleanup(w.stop)
	return w
}

func (w *nsWatch) stop() { w.cancel(); <-w.ended }

func (w *nsWatch) all() []watched {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]watched(nil), w.events...)
}

// listPods returns the namespace's pods by name.
func listPods(t *testing.T, c *harness.Client) map[string]*corev1.Pod {
	t.Helper()
	items := c.ListPods()
	out := map[string]*corev1.Pod{}
	for i := range items {
		out[items[i].Name] = &items[i]
	}
	return out
}

// freshClient is env.ClientOn with an empty host dir: the dir is named
// after the test, and files of an earlier run (-count) must not count.
func freshClient(t *testing.T, d *harness.Podrund) *harness.Client {
	t.Helper()
	c := env.ClientOn(t, d)
	if err := os.RemoveAll(c.HostDir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(c.HostDir, 0o777); err != nil {
		t.Fatal(err)
	}
	return c
}
