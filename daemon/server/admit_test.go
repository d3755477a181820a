package server

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/podrun/podrun/daemon/objects"
	"github.com/podrun/podrun/daemon/secopts"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func withPolicy(t *testing.T, cfg secopts.PolicyConfig) func(*objects.Options) {
	t.Helper()
	p, err := secopts.NewPolicy(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return func(o *objects.Options) { o.Policy = p }
}

const podsPathDefault = "/api/v1/namespaces/default/pods"

const privMsg = `violates PodSecurity "baseline:latest": privileged (container "app" must not set securityContext.privileged=true)`

func privileged(doc string) string {
	return strings.Replace(doc, "    image: busybox:1.28\n", "    image: busybox:1.28\n    securityContext: {privileged: true}\n", 1)
}

// wantForbidden checks a 403 in the API server's words.
func wantForbidden(t *testing.T, ts *testServer, what string, code int, data []byte, msg string) {
	t.Helper()
	st := ts.status(data)
	if code != http.StatusForbidden || st.Reason != metav1.StatusReasonForbidden || st.Message != msg {
		t.Fatalf("%s: HTTP %d %q %q\nwant 403 Forbidden %q", what, code, st.Reason, st.Message, msg)
	}
}

// TestPolicyForbidsPods: under baseline a privileged pod is a 403 worded
// as the API server's PodSecurity admission and is not stored; an unsafe
// sysctl the node does not allow is a 422 naming the field even where the
// level admits it; a namespace's own level wins.
func TestPolicyForbidsPods(t *testing.T) {
	ts := newTestServerObjects(t, nil, withPolicy(t, secopts.PolicyConfig{Level: "baseline", Namespaces: map[string]string{"infra": "privileged"}}))
	code, data := ts.do("POST", podsPathDefault, "application/yaml", []byte(privileged(goodPod)))
	wantForbidden(t, ts, "privileged pod", code, data, `pods "myapp" is forbidden: `+privMsg)
	if code, _ := ts.do("GET", podsPathDefault+"/myapp", "", nil); code != 404 {
		t.Fatalf("refused pod stored: GET %d", code)
	}
	sysctl := strings.Replace(goodPod, "spec:\n", "spec:\n  securityContext:\n    sysctls: [{name: net.core.somaxconn, value: \"1024\"}]\n", 1)
	code, data = ts.do("POST", podsPathDefault, "application/yaml", []byte(sysctl))
	wantForbidden(t, ts, "unsafe sysctl at baseline", code, data,
		`pods "myapp" is forbidden: violates PodSecurity "baseline:latest": forbidden sysctls (net.core.somaxconn)`)
	// At level privileged the node's own allow-list still applies.
	code, data = ts.do("POST", "/api/v1/namespaces/infra/pods", "application/yaml", []byte(sysctl))
	if st := ts.status(data); code != 422 || len(st.Details.Causes) != 1 || st.Details.Causes[0].Field != "spec.securityContext.sysctls[0].name" {
		t.Fatalf("unsafe sysctl: %d %s", code, data)
	}
	if code, data := ts.do("POST", "/api/v1/namespaces/infra/pods", "application/yaml", []byte(privileged(goodPod))); code != 201 {
		t.Fatalf("privileged pod in a privileged namespace: %d %s", code, data)
	}
}

// TestPolicyForbidsPrivilegedUpdate: an apply that would make a running
// pod privileged is refused and the running pod is left as it was.
func TestPolicyForbidsPrivilegedUpdate(t *testing.T) {
	ts := newTestServerObjects(t, nil, withPolicy(t, secopts.PolicyConfig{Level: "baseline"}))
	if code, data := ts.do("POST", podsPathDefault, "application/yaml", []byte(goodPod)); code != 201 {
		t.Fatalf("create: %d %s", code, data)
	}
	code, data := ts.do("PUT", podsPathDefault+"/myapp", "application/yaml", []byte(privileged(goodPod)))
	wantForbidden(t, ts, "privileged update", code, data, `pods "myapp" is forbidden: `+privMsg)
	rec, err := ts.st.Pods().Get(context.Background(), "default", "myapp")
	if err != nil {
		t.Fatal(err)
	}
	if sc := rec.Pod.Spec.Containers[0].SecurityContext; sc != nil && sc.Privileged != nil && *sc.Privileged {
		t.Fatal("the refused update reached the stored pod")
	}
	if p, _ := ts.st.PendingPods().Get(context.Background(), "default", "myapp"); p != nil {
		t.Fatal("the refused update was queued as a replacement")
	}
}

// TestPolicyForbidsJobTemplates: a Job whose template the namespace's level
// refuses is refused at create and update (where the API server would
// only warn: podrund makes the pods itself), and a pod the Job controller
// asks for is checked again, so nothing escapes through a controller.
func TestPolicyForbidsJobTemplates(t *testing.T) {
	ts := newTestServerObjects(t, nil, withPolicy(t, secopts.PolicyConfig{Level: "baseline"}))
	bad := strings.Replace(jobYAML, "        image: busybox:1.28\n", "        image: busybox:1.28\n        securityContext: {privileged: true}\n", 1)
	want := `jobs.batch "once" is forbidden: violates PodSecurity "baseline:latest": privileged (container "work" must not set securityContext.privileged=true)`
	code, data := ts.do("POST", jobsPath, "application/yaml", []byte(bad))
	wantForbidden(t, ts, "privileged Job", code, data, want)
	if code, data := ts.do("POST", jobsPath, "application/yaml", []byte(jobYAML)); code != 201 {
		t.Fatalf("plain Job: %d %s", code, data)
	}
	code, data = ts.do("PUT", jobsPath+"/once", "application/yaml", []byte(bad))
	wantForbidden(t, ts, "privileged Job update", code, data, want)

	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "once-x", Namespace: "default"}, Spec: corev1.PodSpec{
		RestartPolicy: corev1.RestartPolicyNever,
		Containers: []corev1.Container{{Name: "work", Image: "busybox:1.28",
			SecurityContext: &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"SYS_ADMIN"}}}}},
	}}
	err := ts.obj.CreatePod(context.Background(), pod)
	if err == nil || !strings.Contains(err.Error(), `pods "once-x" is forbidden: violates PodSecurity "baseline:latest": non-default capabilities`) {
		t.Fatalf("controller-made SYS_ADMIN pod: %v", err)
	}
	if _, err := ts.st.Pods().Get(context.Background(), "default", "once-x"); err == nil {
		t.Fatal("controller-made pod stored despite the policy")
	}
}

// TestNoPolicyAdmitsEverything: without a policy root on the socket is
// trusted, as before.
func TestNoPolicyAdmitsEverything(t *testing.T) {
	ts := newTestServer(t, nil)
	if code, data := ts.do("POST", podsPathDefault, "application/yaml", []byte(privileged(goodPod))); code != 201 {
		t.Fatalf("privileged pod without a policy: %d %s", code, data)
	}
}
