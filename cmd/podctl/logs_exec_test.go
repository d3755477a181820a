package main

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/api/client"
	"github.com/podrun/podrun/api/client/fake"
)

func twoContainerPod(annotation string) *corev1.Pod {
	p := pod("web", corev1.PodRunning)
	always := corev1.ContainerRestartPolicyAlways
	p.Spec.InitContainers = []corev1.Container{{Name: "proxy", Image: "busybox:1.28", RestartPolicy: &always}}
	p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "helper", Image: "busybox:1.28"})
	if annotation != "" {
		p.Annotations = map[string]string{defaultContainerAnnotation: annotation}
	}
	return p
}

func TestLogsDefaultContainer(t *testing.T) {
	srv := fake.Start(t)
	srv.Logs["default/web/app"] = "app line\n"
	srv.Logs["default/web/helper"] = "helper line\n"
	srv.Logs["default/web/proxy"] = "proxy line\n"

	srv.Set(client.Pods, twoContainerPod(""))
	if r := podctl(t, srv, "logs", "web"); r.code != 0 || r.stdout != "app line\n" {
		t.Errorf("without annotation, the first regular container: %+v", r)
	}
	srv.Set(client.Pods, twoContainerPod("helper"))
	if r := podctl(t, srv, "logs", "web"); r.code != 0 || r.stdout != "helper line\n" {
		t.Errorf("annotated default container: %+v", r)
	}
	if r := podctl(t, srv, "logs", "web", "-c", "proxy"); r.code != 0 || r.stdout != "proxy line\n" {
		t.Errorf("-c proxy: %+v", r)
	}
	r := podctl(t, srv, "logs", "web", "--all-containers", "--prefix")
	if want := "[pod/web/proxy] proxy line\n[pod/web/app] app line\n[pod/web/helper] helper line\n"; r.code != 0 || r.stdout != want {
		t.Errorf("--all-containers --prefix: %+v", r)
	}
	r = podctl(t, srv, "logs", "web", "--all-containers", "-f")
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); r.code != 0 || len(lines) != 3 {
		t.Errorf("--all-containers -f: %+v", r)
	}
	r = podctl(t, srv, "logs", "web", "-c", "app", "-f", "--previous", "--timestamps", "--tail", "3", "--since", "1500ms")
	if r.code != 0 {
		t.Fatal(r)
	}
	want := "GET /api/v1/namespaces/default/pods/web/log?container=app&follow=true&previous=true&sinceSeconds=2&tailLines=3&timestamps=true"
	if requestCount(srv, want) != 1 {
		t.Errorf("no request %q among %v", want, srv.Requests())
	}
}

// upperExec echoes stdin upper-cased, writes to stderr, and exits 3.
func upperExec(container string, command []string, tty bool, stdin *fake.ExecStdin, stdout, stderr *fake.ExecOutput, _ <-chan fake.TerminalSize) int {
	_, _ = io.WriteString(stderr, "running "+strings.Join(command, " ")+" in "+container+"\n")
	if stdin != nil {
		b, _ := io.ReadAll(stdin)
		_, _ = stdout.Write(bytes.ToUpper(b))
	}
	return 3
}

func TestExec(t *testing.T) {
	srv := fake.Start(t)
	srv.Exec = upperExec
	srv.Set(client.Pods, twoContainerPod(""))

	r := podctlIn(t, srv, strings.NewReader("hello"), "exec", "web", "-i", "--", "sh", "-c", "tr a-z A-Z")
	if r.code != 3 || r.stdout != "HELLO" || r.stderr != "running sh -c tr a-z A-Z in app\n" {
		t.Errorf("exec -i: %+v", r)
	}
	r = podctl(t, srv, "exec", "web", "-c", "proxy", "--", "true")
	if r.code != 3 || r.stdout != "" || r.stderr != "running true in proxy\n" {
		t.Errorf("exec without stdin: %+v", r)
	}
	srv.Exec = func(string, []string, bool, *fake.ExecStdin, *fake.ExecOutput, *fake.ExecOutput, <-chan fake.TerminalSize) int {
		return 0
	}
	if r := podctl(t, srv, "exec", "web", "--", "true"); r.code != 0 {
		t.Errorf("exit 0: %+v", r)
	}
	// -t without a terminal falls back to plain streams, as kubectl does.
	r = podctl(t, srv, "exec", "web", "-t", "--", "true")
	if r.code != 0 || !strings.Contains(r.stderr, "Unable to use a TTY") {
		t.Errorf("exec -t without a terminal: %+v", r)
	}
	r = podctl(t, srv, "exec", "nope", "-c", "app", "--", "true")
	if r.code != 1 || r.stderr != "Error from server (NotFound): pods \"nope\" not found\n" {
		t.Errorf("exec in a missing pod: %+v", r)
	}
	r = podctl(t, srv, "exec", "web")
	if r.code != 1 || !strings.Contains(r.stderr, "at least one command") {
		t.Errorf("exec without command: %+v", r)
	}
}

func TestDescribe(t *testing.T) {
	srv := fake.Start(t)
	p := twoContainerPod("")
	srv.Set(client.Pods, p)
	uid := srv.Get(client.Pods, "default", "web")["metadata"].(map[string]any)["uid"].(string)
	ev := func(name, podUID, reason string) *corev1.Event {
		return &corev1.Event{ObjectMeta: objMeta(name), Type: "Normal", Reason: reason, Message: reason + " container app",
			Source:         corev1.EventSource{Component: "podrund"},
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web", UID: typesUID(podUID)}}
	}
	srv.Set(client.Events, ev("web.1", uid, "Started"))
	srv.Set(client.Events, ev("web.0", "old-uid", "Killing"))
	r := podctl(t, srv, "describe", "pod", "web")
	out := squash(r.stdout)
	for _, want := range []string{"Name: web\n", "Init Containers:\n proxy (sidecar):\n", "Containers:\n app:\n", "Normal Started <unknown> podrund Started container app"} {
		if !strings.Contains(out, want) {
			t.Errorf("describe lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(out, "Killing") {
		t.Errorf("describe shows an event of an earlier pod of the same name:\n%s", r.stdout)
	}
	if r := podctl(t, srv, "describe", "job", "nope"); r.code != 1 || !strings.Contains(r.stderr, "NotFound") {
		t.Errorf("describe missing job: %+v", r)
	}
}

func TestImageCommands(t *testing.T) {
	srv := fake.Start(t)
	tar := writeFile(t, "busybox.tar", "docker.io/library/busybox:1.28")
	if r := podctl(t, srv, "image", "import", tar); r.code != 0 || r.stdout != "image/docker.io/library/busybox:1.28 imported\n" {
		t.Errorf("import: %+v", r)
	}
	if r := podctl(t, srv, "image", "pull", "registry.local/app:1"); r.code != 0 || r.stdout != "image/registry.local/app:1 pulled\n" {
		t.Errorf("pull: %+v", r)
	}
	r := podctl(t, srv, "image", "ls")
	if got := fields(r.stdout); r.code != 0 || len(got) != 3 || got[0] != "NAME ID SIZE" {
		t.Errorf("ls: %+v", r)
	}
	if r := podctl(t, srv, "image", "rm", "registry.local/app:1"); r.code != 0 || r.stdout != "image/registry.local/app:1 removed\n" {
		t.Errorf("rm: %+v", r)
	}
	if r := podctl(t, srv, "image", "rm", "registry.local/app:1"); r.code != 1 || !strings.HasPrefix(r.stderr, "Error from server (NotFound)") {
		t.Errorf("rm again: %+v", r)
	}
	if r := podctl(t, srv, "image", "import", "/no/such.tar"); r.code != 1 || r.stderr != "error: the path \"/no/such.tar\" does not exist\n" {
		t.Errorf("import of a missing file: %+v", r)
	}
}

func TestLogsFollowRestarts(t *testing.T) {
	srv := fake.Start(t)
	withRestarts := func(n int32, phase corev1.PodPhase) *corev1.Pod {
		p := pod("web", phase)
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", RestartCount: n,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
		return p
	}
	srv.Set(client.Pods, withRestarts(0, corev1.PodRunning))
	srv.SetLog("default", "web", "app", "first\n")
	const logReq = "GET /api/v1/namespaces/default/pods/web/log?container=app&follow=true"
	done := podctlAsync(t, srv, "logs", "web", "-f", "--follow-restarts", "--tail", "1")
	eventually(t, "the watch after the first log", watching(srv, client.Pods))
	srv.SetLog("default", "web", "app", "second\n")
	srv.Set(client.Pods, withRestarts(1, corev1.PodRunning))
	eventually(t, "the second log", func() bool { return requestCount(srv, logReq) == 1 })
	srv.Set(client.Pods, withRestarts(1, corev1.PodSucceeded))
	r := done()
	if r.code != 0 || r.stdout != "first\nsecond\n" {
		t.Errorf("logs --follow-restarts: %+v", r)
	}
	// The first request kept --tail; the next instance's log is read whole.
	if n := requestCount(srv, logReq+"&tailLines=1"); n != 1 {
		t.Errorf("first log request with tailLines=1: %d; requests %v", n, srv.Requests())
	}
	if r := podctl(t, srv, "logs", "web", "--follow-restarts"); r.code != 1 {
		t.Errorf("--follow-restarts without -f: %+v", r)
	}
}

// --prefix tags every line once, also a line far longer than the read
// buffer, which is passed on in pieces instead of held whole.
func TestCopyPrefixedLongLine(t *testing.T) {
	long := strings.Repeat("a", 1<<20)
	var out bytes.Buffer
	var mu sync.Mutex
	if err := copyPrefixed(&out, strings.NewReader("one\n"+long+"\nlast-no-newline"), "[p] ", &mu); err != nil {
		t.Fatal(err)
	}
	if want := "[p] one\n[p] " + long + "\n[p] last-no-newline"; out.String() != want {
		t.Fatalf("prefixed copy: %d bytes, want %d; starts %.40q", out.Len(), len(want), out.String())
	}
}
