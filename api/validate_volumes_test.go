package api

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
)

func TestValidateVolumesMountsEnv(t *testing.T) {
	tests := []podCase{
		{"volume names unique DNS labels, one source each", func(p *corev1.Pod) {
			p.Spec.Volumes = append(p.Spec.Volumes,
				corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				corev1.Volume{Name: "Two", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{},
					HostPath: &corev1.HostPathVolumeSource{Path: "/tmp"}}},
				corev1.Volume{Name: "none"},
				corev1.Volume{Name: "nfs", VolumeSource: corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Server: "s", Path: "/"}}},
			)
		}, []string{
			`spec.volumes[1].name: Duplicate value: "data"`,
			`spec.volumes[2].name: Invalid value: "Two": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
			`spec.volumes[2].hostPath: Forbidden: may not specify more than 1 volume type`,
			`spec.volumes[3]: Required value: must specify a volume type`,
			"spec.volumes[4].nfs: Forbidden: not supported by podrun: " + notRunVolume,
		}},
		{"volume sources", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{
				{Name: "data", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{DefaultMode: ptr.To[int32](0o1777),
					Items: []corev1.KeyToPath{{Key: "a b", Path: "../x"}}}}},
				{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{}}},
				{Name: "h", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/a/../b", Type: ptr.To(corev1.HostPathType("Pipe"))}}},
			}
		}, []string{
			`spec.containers[0].volumeMounts[0].name: Not found: "data"`, // an invalid volume declares no name
			`spec.volumes[0].configMap.name: Required value`,
			`spec.volumes[0].configMap.defaultMode: Invalid value: 1023: must be a number between 0 and 0777 (octal), both inclusive`,
			`spec.volumes[0].configMap.items[0].key: Invalid value: "a b": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`,
			`spec.volumes[0].configMap.items[0].path: Invalid value: "../x": must not contain '..'`,
			`spec.volumes[1].secret.secretName: Required value`,
			`spec.volumes[2].hostPath.path: Invalid value: "/a/../b": must not contain '..'`,
			`spec.volumes[2].hostPath.type: Unsupported value: "Pipe": supported values: "", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket", "CharDevice", "BlockDevice"`,
		}},
		{"volume mounts", func(p *corev1.Pod) {
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{
				{Name: "data", MountPath: "/data"},
				{Name: "data", MountPath: "/data/", SubPath: "/abs"},
				{Name: "missing", MountPath: "relative", SubPath: "a/../../b"},
				{Name: "", MountPath: ""},
			}
		}, []string{
			`spec.containers[0].volumeMounts[1].mountPath: Invalid value: "/data/": must be unique`,
			`spec.containers[0].volumeMounts.subPath: Invalid value: "/abs": must be a relative path`,
			`spec.containers[0].volumeMounts[2].name: Not found: "missing"`,
			`spec.containers[0].volumeMounts[2].mountPath: Invalid value: "relative": must be an absolute path`,
			`spec.containers[0].volumeMounts.subPath: Invalid value: "a/../../b": must not contain '..'`,
			`spec.containers[0].volumeMounts[3].name: Required value`,
			`spec.containers[0].volumeMounts[3].mountPath: Required value`,
		}},
		// A Bidirectional mount made inside the container would reach the
		// host's mount table: the API server allows it to privileged
		// containers only, whatever the policy.
		{"Bidirectional propagation only for privileged containers", func(p *corev1.Pod) {
			bidi, h2c := corev1.MountPropagationBidirectional, corev1.MountPropagationHostToContainer
			c := p.Spec.Containers[0]
			c.VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data", MountPropagation: &bidi}}
			priv := c
			priv.Name, priv.SecurityContext = "priv", &corev1.SecurityContext{Privileged: ptr.To(true)}
			notPriv := c
			notPriv.Name, notPriv.SecurityContext = "notpriv", &corev1.SecurityContext{Privileged: ptr.To(false)}
			h2cOnly := c
			h2cOnly.Name, h2cOnly.VolumeMounts = "h2c", []corev1.VolumeMount{{Name: "data", MountPath: "/data", MountPropagation: &h2c}}
			init := c
			init.Name = "init"
			p.Spec.InitContainers = []corev1.Container{init}
			p.Spec.Containers = []corev1.Container{c, priv, notPriv, h2cOnly}
		}, []string{
			`spec.initContainers[0].volumeMounts[0].mountPropagation: Forbidden: Bidirectional mount propagation is available only to privileged containers`,
			`spec.containers[0].volumeMounts[0].mountPropagation: Forbidden: Bidirectional mount propagation is available only to privileged containers`,
			`spec.containers[2].volumeMounts[0].mountPropagation: Forbidden: Bidirectional mount propagation is available only to privileged containers`,
		}},
		{"env", func(p *corev1.Pod) {
			p.Spec.Containers[0].Env = []corev1.EnvVar{
				{Name: "OK.name-1", Value: "v"},
				{Name: ""},
				{Name: "A=B"},
				{Name: "NONE", ValueFrom: &corev1.EnvVarSource{}},
				{Name: "TWO", ValueFrom: &corev1.EnvVarSource{
					FieldRef:        &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"},
					ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "c"}, Key: "k"}}},
				{Name: "BOTH", Value: "x", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{Key: "k"}}},
				{Name: "FIELD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "spec.containers"}}},
			}
		}, []string{
			`spec.containers[0].env[1].name: Required value`,
			`spec.containers[0].env[2].name: Invalid value: "A=B": a valid environment variable name must consist only of printable ASCII characters other than '='`,
			"spec.containers[0].env[3].valueFrom: Invalid value: \"\": must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
			`spec.containers[0].env[4].valueFrom: Invalid value: "": may not have more than one field specified at a time`,
			"spec.containers[0].env[5].valueFrom: Invalid value: \"\": may not be specified when `value` is not empty",
			`spec.containers[0].env[5].valueFrom.secretKeyRef.name: Required value`,
			`spec.containers[0].env[6].valueFrom.fieldRef.fieldPath: Unsupported value: "spec.containers": supported values: "metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs"`,
		}},
		{"envFrom", func(p *corev1.Pod) {
			p.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{
				{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "c"}}, Prefix: "P_"},
				{},
			}
		}, []string{"spec.containers[0].envFrom: Invalid value: \"\": must specify one of: `configMapRef` or `secretRef`"}},
		// The eviction monitor trusts a sizeLimit to be >= 0; 0 means none.
		{"emptyDir sizeLimit not negative", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{
				{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "neg", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: ptr.To(resource.MustParse("-1Mi"))}}},
				{Name: "zero", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: ptr.To(resource.MustParse("0"))}}},
			}
		}, []string{`spec.volumes[1].emptyDir.sizeLimit: Invalid value: "-1Mi": must be greater than or equal to 0`}},
	}
	runMutateCases(t, basePod, ValidatePod, tests)
}

func TestValidateReportsEveryViolation(t *testing.T) {
	p := basePod()
	p.Spec.Containers[0].Image = ""
	p.Spec.InitContainers[0].LivenessProbe = execProbe()
	p.Spec.Containers[0].VolumeMounts[0].Name = "nope"
	p.Spec.Containers = append(p.Spec.Containers, p.Spec.Containers[0])
	err := Validate(p)
	se, ok := err.(*StatusError)
	if !ok {
		t.Fatalf("Validate returned %T %v", err, err)
	}
	st := se.Status()
	if se.Code() != 422 || st.Reason != "Invalid" {
		t.Fatalf("code %d reason %s", se.Code(), st.Reason)
	}
	// image ×2, the probe, the mount ×2, the duplicate name.
	if n := len(st.Details.Causes); n != 6 {
		t.Fatalf("got %d causes, want 6: %v", n, err)
	}
	fields := map[string]bool{}
	for _, c := range st.Details.Causes {
		fields[c.Field] = true
	}
	for _, f := range []string{"spec.containers[0].image", "spec.containers[1].image", "spec.initContainers[0].livenessProbe",
		"spec.containers[0].volumeMounts[0].name", "spec.containers[1].volumeMounts[0].name", "spec.containers[1].name"} {
		if !fields[f] {
			t.Errorf("no cause for %s: %v", f, err)
		}
	}
}
