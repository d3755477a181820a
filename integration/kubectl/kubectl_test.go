package kubectl

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/integration/harness"
)

// newKube starts a podrund of the test's own that also listens on HTTPS,
// asks it for a kubeconfig over the socket, as an operator does, and
// makes the test's namespace the one kubectl uses.
func newKube(t *testing.T) (*kube, *harness.Client) {
	t.Helper()
	bin := kubeClients(t)
	addr := freeAddr(t)
	d := env.PrivateDaemonWith(t, env.Containerd, "listenHTTPS: "+addr+"\n")
	c := env.ClientOn(t, d)
	cfg := c.MustPodctl("kubeconfig")
	if !strings.Contains(cfg, "https://"+addr) {
		t.Fatalf("podctl kubeconfig points elsewhere than %s:\n%s", addr, redact(cfg))
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return &kube{t: t, bin: bin, kubeconfig: path, ns: c.NS}, c
}

// freeAddr is a loopback address nothing listens on now.
func freeAddr(t *testing.T) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(harness.FreePort(t, "127.0.0.1")))
}

var keyData = regexp.MustCompile(`(client-key-data|client-certificate-data|certificate-authority-data): .*`)

func redact(cfg string) string { return keyData.ReplaceAllString(cfg, "$1: (redacted)") }

func TestKubectl(t *testing.T) {
	k, _ := newKube(t)

	t.Run("version", func(t *testing.T) {
		var v struct {
			ServerVersion struct{ Major, Minor, GitVersion string }
		}
		if err := json.Unmarshal([]byte(k.must("version", "-o", "json")), &v); err != nil {
			t.Fatal(err)
		}
		if v.ServerVersion.Major != "1" || v.ServerVersion.GitVersion == "" {
			t.Fatalf("server version %+v, want major 1 and a gitVersion", v.ServerVersion)
		}
	})

	t.Run("api-resources", func(t *testing.T) {
		out := k.must("api-resources", "-o", "wide")
		for _, want := range []string{"pods", "configmaps", "secrets", "events", "namespaces", "jobs"} {
			if !regexp.MustCompile(`(?m)^` + want + `\s`).MatchString(out) {
				t.Errorf("api-resources lacks %s:\n%s", want, out)
			}
		}
		if out := k.must("api-resources", "--api-group=batch", "-o", "name"); !strings.Contains(out, "jobs.batch") {
			t.Errorf("api-resources --api-group=batch: %s", out)
		}
	})

	t.Run("explain", func(t *testing.T) {
		out := k.must("explain", "pod.spec.initContainers.restartPolicy")
		if !strings.Contains(out, "KIND:") || !strings.Contains(out, "Pod") || !strings.Contains(out, "restartPolicy") {
			t.Fatalf("explain: %s", out)
		}
	})

	web := harness.Pod{Name: "web", NoSharedDir: true,
		Inits: []harness.Container{{Name: "proxy", Sidecar: true, Command: []string{"sh", "-c", "echo proxy up; exec sleep 3600"}}},
		Containers: []harness.Container{{Name: "app", Command: []string{"sh", "-c",
			"echo hello from app; mkdir -p /www; echo served > /www/index.html; exec httpd -f -p 127.0.0.1:8080 -h /www"}}},
	}.YAML("")
	web = strings.Replace(web, "metadata:\n  name: web\n", "metadata:\n  name: web\n  labels:\n    app: web\n", 1)

	t.Run("apply and wait", func(t *testing.T) {
		if out := k.apply(web); !strings.Contains(out, "pod/web created") {
			t.Fatalf("apply: %s", out)
		}
		k.must("wait", "--for=condition=Ready", "pod/web", "--timeout=90s")
		// A second apply of the same file changes nothing; a changed
		// label is an update through kubectl's strategic merge patch.
		if out := k.apply(web); !strings.Contains(out, "pod/web unchanged") {
			t.Errorf("second apply: %s", out)
		}
		changed := strings.Replace(web, "    app: web\n", "    app: web\n    tier: front\n", 1)
		if out := k.apply(changed); !strings.Contains(out, "pod/web configured") {
			t.Errorf("apply of a changed label: %s", out)
		}
		if got := k.must("get", "pod", "web", "-o", "jsonpath={.metadata.labels.tier}"); got != "front" {
			t.Errorf("label after apply: %q", got)
		}
	})

	t.Run("get", func(t *testing.T) {
		out := k.must("get", "pods")
		if !regexp.MustCompile(`NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE`).MatchString(out) ||
			!regexp.MustCompile(`(?m)^web\s+2/2\s+Running\s+0\s`).MatchString(out) {
			t.Errorf("get pods:\n%s", out)
		}
		if out := k.must("get", "pods", "-o", "wide"); !regexp.MustCompile(`IP\s+NODE`).MatchString(out) {
			t.Errorf("get pods -o wide:\n%s", out)
		}
		if out := k.must("get", "pods", "-l", "app=web", "-o", "name"); strings.TrimSpace(out) != "pod/web" {
			t.Errorf("get -l app=web: %q", out)
		}
		if out, errOut, _ := k.run(nil, "get", "pods", "-l", "app=none"); strings.Contains(out, "web") ||
			!strings.Contains(errOut, "No resources found") {
			t.Errorf("get -l app=none: %q %q", out, errOut)
		}
	})

	t.Run("describe", func(t *testing.T) {
		out := k.must("describe", "pod", "web")
		for _, want := range []string{"Name:", "web", "Init Containers:", "proxy", "Containers:", "app", "Events:"} {
			if !strings.Contains(out, want) {
				t.Errorf("describe lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("logs", func(t *testing.T) {
		if out := k.must("logs", "web", "-c", "app"); !strings.Contains(out, "hello from app") {
			t.Errorf("logs: %q", out)
		}
		k.apply(harness.Pod{Name: "counter", RestartPolicy: "Never", NoSharedDir: true,
			Containers: []harness.Container{{Name: "c", Command: []string{"sh", "-c",
				"for i in 1 2 3; do echo line $i; sleep 1; done"}}}}.YAML(""))
		k.must("wait", "--for=condition=Ready", "pod/counter", "--timeout=90s")
		// -f follows until the container ends, then kubectl exits.
		out := k.must("logs", "-f", "counter")
		if !strings.Contains(out, "line 1\nline 2\nline 3\n") {
			t.Errorf("logs -f: %q", out)
		}
	})

	t.Run("exec", func(t *testing.T) {
		if out := k.must("exec", "web", "-c", "app", "--", "cat", "/www/index.html"); out != "served\n" {
			t.Errorf("exec output %q", out)
		}
		_, errOut, code := k.run(nil, "exec", "web", "-c", "app", "--", "sh", "-c", "exit 3")
		if code != 3 {
			t.Errorf("exec exit code %d, want 3 (%s)", code, errOut)
		}
		out, _, code := k.run(strings.NewReader("from stdin\n"), "exec", "-i", "web", "-c", "app", "--", "cat")
		if code != 0 || out != "from stdin\n" {
			t.Errorf("exec -i: %q exit %d", out, code)
		}
	})

	t.Run("exec -it", func(t *testing.T) {
		// script(1) gives kubectl a terminal, as a user's shell does.
		cmdline := fmt.Sprintf("%s -n %s exec -it web -c app -- sh -c 'tty >/dev/null && echo on-a-tty; exit 4'", k.bin.kubectl, k.ns)
		out, errOut, code := k.cmd(t.Context(), "script", nil, "-qec", cmdline, "/dev/null")
		if code != 4 || !strings.Contains(out, "on-a-tty") {
			t.Errorf("exec -it: exit %d, output %q %q", code, out, errOut)
		}
	})

	t.Run("port-forward", func(t *testing.T) {
		// httpd listens on the pod's loopback only: port-forward is the
		// one way in from the host.
		local := freeAddr(t)
		_, port, _ := net.SplitHostPort(local)
		out, _ := k.background("port-forward", "pod/web", port+":8080")
		harness.Eventually(t, 30*time.Second, func() string {
			if strings.Contains(out.String(), "Forwarding from 127.0.0.1:"+port) {
				return ""
			}
			return "kubectl port-forward printed: " + out.String()
		})
		resp, err := http.Get("http://" + local + "/index.html")
		if err != nil {
			t.Fatalf("GET through port-forward: %v (kubectl: %s)", err, out.String())
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "served\n" {
			t.Errorf("through port-forward: %d %q", resp.StatusCode, body)
		}
	})

	t.Run("create configmap and secret", func(t *testing.T) {
		if out := k.must("create", "configmap", "lit", "--from-literal=a=b"); !strings.Contains(out, "configmap/lit created") {
			t.Errorf("create configmap: %s", out)
		}
		if got := k.must("get", "configmap", "lit", "-o", "jsonpath={.data.a}"); got != "b" {
			t.Errorf("configmap data %q", got)
		}
		if out := k.must("create", "secret", "generic", "sec", "--from-literal=pw=hunter2"); !strings.Contains(out, "secret/sec created") {
			t.Errorf("create secret: %s", out)
		}
		if got := k.must("get", "secret", "sec", "-o", "jsonpath={.data.pw}"); got != "aHVudGVyMg==" {
			t.Errorf("secret data %q", got)
		}
	})

	t.Run("label and annotate", func(t *testing.T) {
		if out := k.must("label", "configmap", "lit", "color=blue"); !strings.Contains(out, "labeled") {
			t.Errorf("label: %s", out)
		}
		if out := k.must("get", "configmaps", "-l", "color=blue", "-o", "name"); strings.TrimSpace(out) != "configmap/lit" {
			t.Errorf("get -l color=blue: %q", out)
		}
		if out := k.must("annotate", "pod", "web", "note=hi"); !strings.Contains(out, "annotated") {
			t.Errorf("annotate: %s", out)
		}
		if got := k.must("get", "pod", "web", "-o", "jsonpath={.metadata.annotations.note}"); got != "hi" {
			t.Errorf("annotation %q", got)
		}
	})

	t.Run("server-side apply and dry run", func(t *testing.T) {
		cm := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  k: one\n"
		if out := k.apply(cm, "--server-side"); !strings.Contains(out, "serverside-applied") {
			t.Errorf("apply --server-side: %s", out)
		}
		k.apply(strings.Replace(cm, "one", "two", 1), "--server-side")
		if got := k.must("get", "configmap", "ssa", "-o", "jsonpath={.data.k}"); got != "two" {
			t.Errorf("after the second server-side apply: %q", got)
		}
		if got := k.must("get", "configmap", "ssa", "-o", "jsonpath={.metadata.managedFields[*].manager}"); !strings.Contains(got, "kubectl") {
			t.Errorf("managed fields' managers: %q", got)
		}
		dry := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dry\ndata:\n  k: v\n"
		if out := k.apply(dry, "--dry-run=server"); !strings.Contains(out, "(server dry run)") {
			t.Errorf("apply --dry-run=server: %s", out)
		}
		if _, errOut, code := k.run(nil, "get", "configmap", "dry"); code == 0 || !strings.Contains(errOut, "NotFound") {
			t.Errorf("a dry-run object was stored: exit %d %s", code, errOut)
		}
	})

	t.Run("watch", func(t *testing.T) {
		// get -w lists what exists once, then only what changes.
		out, stop := k.background("get", "configmaps", "-w", "--no-headers", "-o", "name")
		harness.Eventually(t, 30*time.Second, func() string {
			if strings.Contains(out.String(), "configmap/lit") {
				return ""
			}
			return "get -w printed: " + out.String()
		})
		k.must("create", "configmap", "later", "--from-literal=x=y")
		harness.Eventually(t, 30*time.Second, func() string {
			if strings.Contains(out.String(), "configmap/later") {
				return ""
			}
			return "get -w printed: " + out.String()
		})
		time.Sleep(time.Second)
		stop()
		if n := strings.Count(out.String(), "configmap/lit\n"); n != 1 {
			t.Errorf("get -w printed configmap/lit %d times:\n%s", n, out.String())
		}
	})

	t.Run("job wait complete", func(t *testing.T) {
		job := "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: once\nspec:\n  template:\n    spec:\n" +
			"      restartPolicy: Never\n      containers:\n      - name: c\n        image: busybox:1.28\n        command: [sh, -c, 'echo done']\n"
		k.apply(job)
		if out := k.must("wait", "--for=condition=complete", "job/once", "--timeout=90s"); !strings.Contains(out, "condition met") {
			t.Errorf("wait complete: %s", out)
		}
		if out := k.must("get", "jobs"); !regexp.MustCompile(`(?m)^once\s+Complete\s+1/1`).MatchString(out) {
			t.Errorf("get jobs:\n%s", out)
		}
	})

	t.Run("events field selector", func(t *testing.T) {
		out := k.must("get", "events", "--field-selector", "involvedObject.name=web", "-o", "name")
		if strings.TrimSpace(out) == "" {
			t.Fatalf("no events for web")
		}
		all := k.must("get", "events", "--field-selector", "involvedObject.name=web",
			"-o", "jsonpath={range .items[*]}{.involvedObject.name}{\"\\n\"}{end}")
		for _, name := range strings.Fields(all) {
			if name != "web" {
				t.Errorf("field selector let through an event of %q", name)
			}
		}
	})

	t.Run("delete with grace period", func(t *testing.T) {
		// The container ignores SIGTERM and asks for 300 s; the
		// DeleteOptions' grace period of 1 s must win, or kubectl's
		// wait for the deletion runs into its timeout.
		k.apply(harness.Pod{Name: "stubborn", Grace: 300, NoSharedDir: true,
			Containers: []harness.Container{{Name: "c", Command: []string{"sh", "-c",
				"trap '' TERM; while true; do sleep 1; done"}}}}.YAML(""))
		k.must("wait", "--for=condition=Ready", "pod/stubborn", "--timeout=90s")
		if out := k.must("delete", "pod", "stubborn", "--grace-period=1", "--timeout=60s"); !strings.Contains(out, `pod "stubborn" deleted`) {
			t.Errorf("delete: %s", out)
		}
		if _, errOut, code := k.run(nil, "get", "pod", "stubborn"); code == 0 || !strings.Contains(errOut, "NotFound") {
			t.Errorf("pod still there after delete: %s", errOut)
		}
	})

}

// TestClientGo runs the client-go program: typed clients with protobuf
// bodies, an informer, and optimistic concurrency.
func TestClientGo(t *testing.T) {
	k, _ := newKube(t)
	run := func(args ...string) string {
		t.Helper()
		t0 := time.Now()
		out, errOut, code := k.cmd(t.Context(), k.bin.clientgo, nil, args...)
		if code != 0 {
			t.Fatalf("clientgo %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
		}
		t.Logf("clientgo %s (%v): %s%s", strings.Join(args, " "), time.Since(t0).Round(time.Millisecond), out, errOut)
		return out
	}
	run("create", k.ns, "typed")
	run("informer", k.ns)
	run("stale", k.ns, "typed")
}
