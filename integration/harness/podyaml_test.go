package harness

import (
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// The rendered YAML is the pod described: shared hostPath per pod, the
// mount in every container, sidecar restart policy, scripts with quotes
// and shell metacharacters intact.
func TestPodYAML(t *testing.T) {
	script := `echo "a'b" > /shared/x && [ 1 -lt 2 ]`
	p := Pod{Name: "web", RestartPolicy: "Never", Grace: 3,
		Extra: "  hostname: h\n",
		Inits: []Container{{Name: "proxy", Sidecar: true, Command: []string{"sh", "-c", script}}},
		Containers: []Container{{Name: "app", Image: ImageOther, Args: []string{"-x"},
			Extra: "    workingDir: /tmp\n"}},
	}
	var got corev1.Pod
	if err := yaml.UnmarshalStrict([]byte(p.YAML("/h")), &got); err != nil {
		t.Fatalf("decode: %v\n%s", err, p.YAML("/h"))
	}
	s := got.Spec
	if got.Name != "web" || s.RestartPolicy != "Never" || *s.TerminationGracePeriodSeconds != 3 || s.Hostname != "h" {
		t.Errorf("pod fields: %+v", got)
	}
	if len(s.Volumes) != 1 || s.Volumes[0].HostPath == nil || s.Volumes[0].HostPath.Path != "/h/web" {
		t.Errorf("volumes: %+v", s.Volumes)
	}
	if len(s.InitContainers) != 1 || len(s.Containers) != 1 {
		t.Fatalf("containers: %+v", s)
	}
	proxy, app := s.InitContainers[0], s.Containers[0]
	if proxy.Image != Busybox || proxy.RestartPolicy == nil || *proxy.RestartPolicy != corev1.ContainerRestartPolicyAlways ||
		len(proxy.Command) != 3 || proxy.Command[2] != script {
		t.Errorf("init container: %+v", proxy)
	}
	if app.Image != ImageOther || app.Command != nil || len(app.Args) != 1 || app.WorkingDir != "/tmp" || app.RestartPolicy != nil {
		t.Errorf("container: %+v", app)
	}
	for _, c := range []corev1.Container{proxy, app} {
		if len(c.VolumeMounts) != 1 || c.VolumeMounts[0].MountPath != "/shared" {
			t.Errorf("%s mounts: %+v", c.Name, c.VolumeMounts)
		}
	}
}

// NoSharedDir leaves the shared volume and its mounts out, so that a
// container's Extra may name its own volumeMounts; Pull sets the policy.
func TestPodYAMLNoSharedDir(t *testing.T) {
	p := Pod{Name: "plain", Grace: 1, NoSharedDir: true, Containers: []Container{{Name: "app",
		Pull: "Never", Command: []string{"sleep", "3600"},
		Extra: "    volumeMounts:\n    - {name: d, mountPath: /d}\n"}}}
	y := p.YAML("/h") + "  volumes:\n  - {name: d, emptyDir: {}}\n"
	var got corev1.Pod
	if err := yaml.UnmarshalStrict([]byte(y), &got); err != nil {
		t.Fatalf("decode: %v\n%s", err, y)
	}
	app := got.Spec.Containers[0]
	if len(got.Spec.Volumes) != 1 || got.Spec.Volumes[0].Name != "d" {
		t.Errorf("volumes: %+v", got.Spec.Volumes)
	}
	if app.ImagePullPolicy != corev1.PullNever || len(app.VolumeMounts) != 1 || app.VolumeMounts[0].Name != "d" {
		t.Errorf("container: %+v", app)
	}
}

// PodManifest puts the hand-written spec under the pod's header as it
// stands, whether the raw string starts on its own line or not.
func TestPodManifest(t *testing.T) {
	for _, spec := range []string{
		"\n  restartPolicy: Never\n  containers:\n  - {name: app, image: busybox:1.28}\n",
		"  restartPolicy: Never\n  containers:\n  - {name: app, image: busybox:1.28}\n",
	} {
		var got corev1.Pod
		if err := yaml.UnmarshalStrict([]byte(PodManifest("hand", spec)), &got); err != nil {
			t.Fatalf("decode: %v\n%s", err, PodManifest("hand", spec))
		}
		if got.Kind != "Pod" || got.Name != "hand" || got.Spec.RestartPolicy != corev1.RestartPolicyNever ||
			len(got.Spec.Containers) != 1 || got.Spec.Containers[0].Name != "app" {
			t.Errorf("PodManifest(%q) = %+v", spec, got)
		}
	}
}

// JobManifest puts the spec lines and the builder's pod, indented as a
// template, under the Job's header.
func TestJobManifest(t *testing.T) {
	y := JobManifest("once", "  backoffLimit: 0\n", Pod{Name: "ignored", RestartPolicy: "Never",
		Containers: []Container{{Name: "main", Command: Sh("echo done"), Extra: "    workingDir: /tmp\n"}}}, "/h")
	var got batchv1.Job
	if err := yaml.UnmarshalStrict([]byte(y), &got); err != nil {
		t.Fatalf("decode: %v\n%s", err, y)
	}
	s := got.Spec.Template.Spec
	if got.Kind != "Job" || got.Name != "once" || got.Spec.BackoffLimit == nil || *got.Spec.BackoffLimit != 0 {
		t.Errorf("job fields: %+v", got)
	}
	if s.RestartPolicy != corev1.RestartPolicyNever || len(s.Volumes) != 1 || s.Volumes[0].HostPath.Path != "/h/ignored" {
		t.Errorf("template spec: %+v", s)
	}
	if len(s.Containers) != 1 || s.Containers[0].Name != "main" || s.Containers[0].Command[2] != "echo done" ||
		s.Containers[0].WorkingDir != "/tmp" || len(s.Containers[0].VolumeMounts) != 1 {
		t.Errorf("template containers: %+v", s.Containers)
	}
}
