package sandbox

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

// TestEnv: value, valueFrom (configMapKeyRef, secretKeyRef, fieldRef,
// resourceFieldRef), envFrom with prefix, and $(VAR) expansion in command,
// args and env, as the process sees its environment.
func TestEnv(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	c.Apply(`apiVersion: v1
kind: ConfigMap
metadata: {name: envcfg}
data: {color: blue, size: L}
---
apiVersion: v1
kind: Secret
metadata: {name: envsec}
stringData: {token: t0ken}
`)
	applyPodReady(t, c, "envs", `
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: busybox:1.28
    command: ["sh", "-c", "echo cmd=$(GREETING); `+forever+`"]
    args: ["arg=$(GREETING)", "esc=$$(GREETING)"]
    resources:
      requests: {cpu: 250m}
      limits: {memory: 32Mi}
    envFrom:
    - configMapRef: {name: envcfg}
      prefix: CM_
    - secretRef: {name: envsec}
    env:
    - {name: GREETING, value: hello}
    - {name: COMBINED, value: "$(GREETING)-$(CM_color)-$(UNDEFINED)"}
    - name: FROM_CM
      valueFrom: {configMapKeyRef: {name: envcfg, key: size}}
    - name: FROM_SECRET
      valueFrom: {secretKeyRef: {name: envsec, key: token}}
    - name: POD_NAME
      valueFrom: {fieldRef: {fieldPath: metadata.name}}
    - name: POD_NS
      valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
    - name: MEM_MI
      valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}
    - name: CPU_M
      valueFrom: {resourceFieldRef: {resource: requests.cpu, divisor: 1m}}
    - name: OPT
      valueFrom: {configMapKeyRef: {name: nope, key: x, optional: true}}
`)
	got := map[string]string{}
	for _, l := range strings.Split(sh(t, c, "envs", "app", "env"), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			got[k] = v
		}
	}
	for k, v := range map[string]string{
		"GREETING": "hello", "COMBINED": "hello-blue-$(UNDEFINED)", "FROM_CM": "L", "FROM_SECRET": "t0ken",
		"POD_NAME": "envs", "POD_NS": c.NS, "MEM_MI": "32", "CPU_M": "250", "CM_color": "blue", "CM_size": "L",
		"token": "t0ken",
	} {
		want(t, "env "+k, got[k], v)
	}
	if _, ok := got["OPT"]; ok {
		t.Errorf("optional missing configMapKeyRef set OPT=%q", got["OPT"])
	}
	// $(VAR) in command and args; $$ escapes.
	want(t, "expanded args (/proc/1/cmdline)", sh(t, c, "envs", "app", "tr '\\0' ' ' < /proc/1/cmdline"),
		"sh -c echo cmd=hello; "+forever+" arg=hello esc=$(GREETING)")
	logsUntil(t, c, "envs", "app", "cmd=hello", 10*time.Second)
	deletePod(t, c, "envs")
}

// TestMissingConfigMap: a missing non-optional ConfigMap keeps the container
// waiting with CreateContainerConfigError and a message naming it; once the
// ConfigMap is applied the pod starts.
func TestMissingConfigMap(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	c.Apply(podOf("late", 1, nil, busybox("app", "echo got=$LATE; "+forever,
		"env: [{name: LATE, valueFrom: {configMapKeyRef: {name: late-cfg, key: k}}}]")))
	p := c.WaitFor("late", "CreateContainerConfigError", 60*time.Second, func(p *corev1.Pod) bool {
		w := harness.Waiting(p, "app")
		return w != nil && w.Reason == "CreateContainerConfigError"
	})
	wantContains(t, "waiting message", harness.Waiting(p, "app").Message, `configmap "late-cfg" not found`)
	c.Apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: late-cfg}\ndata: {k: arrived}\n")
	c.WaitFor("late", "Ready once the ConfigMap exists", 90*time.Second, harness.PodReady)
	logsUntil(t, c, "late", "app", "got=arrived", 10*time.Second)
	deletePod(t, c, "late")
}
