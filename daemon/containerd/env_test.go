package containerd

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/podrun/podrun/supervisor"
)

type fakeObjects struct {
	cms     map[string]*corev1.ConfigMap
	secrets map[string]*corev1.Secret
}

func (f fakeObjects) ConfigMap(_ context.Context, ns, name string) (*corev1.ConfigMap, error) {
	if cm, ok := f.cms[ns+"/"+name]; ok {
		return cm, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "configmaps"}, name)
}

func (f fakeObjects) Secret(_ context.Context, ns, name string) (*corev1.Secret, error) {
	if s, ok := f.secrets[ns+"/"+name]; ok {
		return s, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "secrets"}, name)
}

func testObjects() fakeObjects {
	return fakeObjects{
		cms: map[string]*corev1.ConfigMap{"ns/cfg": {Data: map[string]string{
			"mode": "fast", "bad=name": "skipped", "URL": "http://$(HOST)"}}},
		secrets: map[string]*corev1.Secret{"ns/sec": {Data: map[string][]byte{"token": []byte("s3cret")}}},
	}
}

func testPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "uid-1",
			Labels: map[string]string{"app": "web"}, Annotations: map[string]string{"a/b": "c"}},
		Spec: corev1.PodSpec{NodeName: "node1", ServiceAccountName: "sa"},
	}
}

func resolveEnv(t *testing.T, c *corev1.Container) ([]string, error) {
	t.Helper()
	pod := testPod()
	pod.Spec.Containers = []corev1.Container{*c}
	r := &envResolver{objects: testObjects(), pod: pod,
		sandbox: supervisor.Sandbox{PodIP: "10.0.0.5", HostIPs: []string{"192.168.1.2"}},
		cms:     map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{}}
	return r.resolve(context.Background(), &pod.Spec.Containers[0])
}

func TestEnvOrderSourcesAndExpansion(t *testing.T) {
	opt := true
	c := &corev1.Container{
		Name: "app",
		EnvFrom: []corev1.EnvFromSource{
			{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}, Prefix: "CFG_"},
			{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "missing"}, Optional: &opt}},
		},
		Env: []corev1.EnvVar{
			{Name: "HOST", Value: "h"},
			{Name: "GREETING", Value: "hi $(HOST) $$(HOST) $(NOPE) $(CFG_mode)"},
			{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "sec"}, Key: "token"}}},
			{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			{Name: "APP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}}},
			{Name: "ANN", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.annotations['a/b']"}}},
			{Name: "IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
			{Name: "HOSTIP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.hostIP"}}},
			{Name: "NODE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}},
			{Name: "OPTKEY", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Key: "nokey", Optional: &opt}}},
			{Name: "CFG_mode", Value: "overridden"},
		},
	}
	env, err := resolveEnv(t, c)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"CFG_URL=http://$(HOST)", // envFrom values are not expanded
		"CFG_mode=overridden",    // env after envFrom wins, in place
		"HOST=h",
		"GREETING=hi h $(HOST) $(NOPE) fast",
		"TOKEN=s3cret",
		"POD=web",
		"APP=web",
		"ANN=c",
		"IP=10.0.0.5",
		"HOSTIP=192.168.1.2",
		"NODE=node1",
	}
	if !slices.Equal(env, want) {
		t.Fatalf("env =\n%s\nwant\n%s", strings.Join(env, "\n"), strings.Join(want, "\n"))
	}
}

// A key ref reads a ConfigMap's Data before its BinaryData and a Secret's
// Data before its StringData.
func TestEnvKeyRefSecondMaps(t *testing.T) {
	objs := fakeObjects{
		cms: map[string]*corev1.ConfigMap{"ns/cfg": {Data: map[string]string{"both": "data"},
			BinaryData: map[string][]byte{"both": []byte("binary"), "bin": []byte("b")}}},
		secrets: map[string]*corev1.Secret{"ns/sec": {Data: map[string][]byte{"both": []byte("data")},
			StringData: map[string]string{"both": "string", "str": "s"}}},
	}
	ref := func(name, kind, key string) corev1.EnvVar {
		src := &corev1.EnvVarSource{}
		lor := corev1.LocalObjectReference{Name: kind}
		if kind == "cfg" {
			src.ConfigMapKeyRef = &corev1.ConfigMapKeySelector{LocalObjectReference: lor, Key: key}
		} else {
			src.SecretKeyRef = &corev1.SecretKeySelector{LocalObjectReference: lor, Key: key}
		}
		return corev1.EnvVar{Name: name, ValueFrom: src}
	}
	pod := testPod()
	pod.Spec.Containers = []corev1.Container{{Name: "app", Env: []corev1.EnvVar{
		ref("CM_BOTH", "cfg", "both"), ref("CM_BIN", "cfg", "bin"), ref("S_BOTH", "sec", "both"), ref("S_STR", "sec", "str")}}}
	r := &envResolver{objects: objs, pod: pod, cms: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{}}
	env, err := r.resolve(context.Background(), &pod.Spec.Containers[0])
	if want := []string{"CM_BOTH=data", "CM_BIN=b", "S_BOTH=data", "S_STR=s"}; err != nil || !slices.Equal(env, want) {
		t.Fatalf("env = %v, %v; want %v", env, err, want)
	}
}

func TestEnvMissingObjectsAreConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  corev1.EnvVar
		want string
	}{
		{"missing configmap", corev1.EnvVar{Name: "X", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "nope"}, Key: "k"}}}, `configmap "nope" not found`},
		{"missing configmap key", corev1.EnvVar{Name: "X", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Key: "k"}}}, "couldn't find key k in ConfigMap ns/cfg"},
		{"missing secret", corev1.EnvVar{Name: "X", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "nope"}, Key: "k"}}}, `secret "nope" not found`},
		{"missing secret key", corev1.EnvVar{Name: "X", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "sec"}, Key: "k"}}}, "couldn't find key k in Secret ns/sec"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := resolveEnv(t, &corev1.Container{Name: "app", Env: []corev1.EnvVar{tc.env}})
			var se *supervisor.StartError
			if !errors.As(err, &se) || se.Reason != "CreateContainerConfigError" || se.Message != tc.want {
				t.Fatalf("err = %#v, want CreateContainerConfigError %q", err, tc.want)
			}
		})
	}
}

func TestEnvResourceFieldRef(t *testing.T) {
	c := &corev1.Container{Name: "app",
		Resources: corev1.ResourceRequirements{
			Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1500m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")},
		},
		Env: []corev1.EnvVar{
			{Name: "CPU", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.cpu"}}},
			{Name: "CPUM", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "requests.cpu", Divisor: resource.MustParse("1m")}}},
			{Name: "MEM", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}}},
		},
	}
	env, err := resolveEnv(t, c)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"CPU=2", "CPUM=250", "MEM=64"}
	if !slices.Equal(env, want) {
		t.Fatalf("env = %q, want %q", env, want)
	}
}

// Every env fieldRef path, as the kubelet resolves it: the sandbox's
// addresses (the host's under hostNetwork), the host's name without a
// nodeName, and a config error for what env does not resolve.
func TestEnvFieldRefPaths(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	sb := supervisor.Sandbox{PodIP: "10.0.0.5", HostIPs: []string{"192.168.1.2", "fd00::2"}}
	for _, tc := range []struct {
		path    string
		mutate  func(*corev1.Pod, *supervisor.Sandbox)
		want    string
		wantErr string
	}{
		{"metadata.name", nil, "web", ""},
		{"metadata.namespace", nil, "ns", ""},
		{"metadata.uid", nil, "uid-1", ""},
		{"metadata.labels['app']", nil, "web", ""},
		{"metadata.labels['none']", nil, "", ""},
		{"metadata.annotations['a/b']", nil, "c", ""},
		{"spec.nodeName", nil, "node1", ""},
		{"spec.nodeName", func(p *corev1.Pod, _ *supervisor.Sandbox) { p.Spec.NodeName = "" }, host, ""},
		{"spec.serviceAccountName", nil, "sa", ""},
		{"status.podIP", nil, "10.0.0.5", ""},
		{"status.podIPs", nil, "10.0.0.5", ""},
		{"status.hostIP", nil, "192.168.1.2", ""},
		{"status.hostIPs", nil, "192.168.1.2,fd00::2", ""},
		{"status.podIP", func(p *corev1.Pod, s *supervisor.Sandbox) { p.Spec.HostNetwork, s.PodIP = true, "" }, "192.168.1.2", ""},
		{"status.hostIPs", func(_ *corev1.Pod, s *supervisor.Sandbox) { s.HostIPs = nil }, "", ""},
		{"metadata.labels", nil, "", `unsupported fieldRef fieldPath "metadata.labels"`},
		{"metadata.annotations", nil, "", `unsupported fieldRef fieldPath "metadata.annotations"`},
		{"metadata.labels[']", nil, "", `unsupported fieldRef fieldPath "metadata.labels[']"`},
		{"spec.restartPolicy", nil, "", `unsupported fieldRef fieldPath "spec.restartPolicy"`},
	} {
		pod, sandbox := testPod(), sb
		if tc.mutate != nil {
			tc.mutate(pod, &sandbox)
		}
		r := &envResolver{pod: pod, sandbox: sandbox}
		v, err := r.fieldValue(tc.path)
		if tc.wantErr != "" {
			var se *supervisor.StartError
			if !errors.As(err, &se) || se.Reason != "CreateContainerConfigError" || se.Message != tc.wantErr {
				t.Errorf("%s: %q, %v; want CreateContainerConfigError %q", tc.path, v, err, tc.wantErr)
			}
			continue
		}
		if err != nil || v != tc.want {
			t.Errorf("%s: %q, %v; want %q", tc.path, v, err, tc.want)
		}
	}
}
