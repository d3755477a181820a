package main

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/api/client"
	"github.com/podrun/podrun/api/client/fake"
)

// complete runs cobra's hidden __complete command, as the shell scripts do.
func complete(t *testing.T, srv *fake.Server, args ...string) []string {
	t.Helper()
	r := podctl(t, srv, append([]string{"__complete"}, args...)...)
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if !strings.HasPrefix(l, ":") {
			out = append(out, l)
		}
	}
	return out
}

func TestCompletion(t *testing.T) {
	srv := fake.Start(t)
	srv.Set(client.Pods, twoContainerPod(""))
	srv.Set(client.Pods, pod("worker", corev1.PodRunning))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"get", "po"}, "pods"},
		{[]string{"describe", ""}, "pod job cronjob"},
		{[]string{"get", "pods", "w"}, "web worker"},
		{[]string{"logs", "we"}, "web"},
		{[]string{"exec", "web", "-c", ""}, "proxy app helper"},
	} {
		if got := strings.Join(complete(t, srv, tc.args...), " "); got != tc.want {
			t.Errorf("complete %q = %q, want %q", tc.args, got, tc.want)
		}
	}
	r := podctl(t, srv, "completion", "bash")
	if r.code != 0 || !strings.Contains(r.stdout, "__start_podctl") {
		t.Errorf("completion bash: code %d, %d bytes", r.code, len(r.stdout))
	}
}
