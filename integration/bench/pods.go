package bench

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// waitTERM keeps a container running and exits at once on SIGTERM. The
// sleep runs in the background because a shell runs a trap only after its
// foreground command returns.
const waitTERM = `trap 'exit 0' TERM; sleep 3600 & wait`

// Container names of every benchmark pod: sidecars first, in start order.
const (
	sidecar1 = "sidecar-1"
	sidecar2 = "sidecar-2"
	appName  = "app"
)

var always = corev1.ContainerRestartPolicyAlways

// shell is a busybox container running script with sh -c.
func shell(name, script string) corev1.Container {
	return corev1.Container{Name: name, Image: BenchImage, Command: []string{"sh", "-c", script}}
}

func sidecar(name, script string) corev1.Container {
	c := shell(name, script)
	c.RestartPolicy = &always
	return c
}

// threeContainerPod is the benchmark's pod: two sidecars and one app container,
// each waiting for SIGTERM.
func threeContainerPod(name string) *corev1.Pod {
	p := benchPod(name, 10, shell(appName, waitTERM))
	p.Spec.InitContainers = []corev1.Container{sidecar(sidecar1, waitTERM), sidecar(sidecar2, waitTERM)}
	return p
}

// benchPod is a pod of the given containers and grace period.
func benchPod(name string, grace int64, containers ...corev1.Container) *corev1.Pod {
	return &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.PodSpec{TerminationGracePeriodSeconds: &grace, Containers: containers},
	}
}

// probedPod is threeContainerPod whose app serves HTTP (busybox httpd) and
// has a liveness httpGet probe and a readiness exec probe every period s.
// The exec probe is the readiness one on purpose: on a loaded 2-core host
// an exec (a runc exec through containerd) can exceed its 1 s timeout, and
// as a liveness probe that restarts the app and feeds the load back.
func probedPod(name string, period int32) *corev1.Pod {
	p := threeContainerPod(name)
	app := &p.Spec.Containers[0]
	app.Command = []string{"sh", "-c", "mkdir -p /tmp/www && echo ok > /tmp/www/index.html && httpd -p 8080 -h /tmp/www && " + waitTERM}
	app.LivenessProbe = &corev1.Probe{PeriodSeconds: period, InitialDelaySeconds: 2, FailureThreshold: 10,
		ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(8080)}}}
	app.ReadinessProbe = &corev1.Probe{PeriodSeconds: period, ProbeHandler: corev1.ProbeHandler{
		Exec: &corev1.ExecAction{Command: []string{"true"}}}}
	return p
}

// hostVolume mounts the daemon's host dir at /host in every container.
func hostVolume(p *corev1.Pod, dir string) {
	hp := corev1.HostPathDirectory
	p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "host",
		VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: dir, Type: &hp}}})
	for _, list := range [][]corev1.Container{p.Spec.InitContainers, p.Spec.Containers} {
		for i := range list {
			list[i].VolumeMounts = append(list[i].VolumeMounts, corev1.VolumeMount{Name: "host", MountPath: "/host"})
		}
	}
}

// exitPod (reaction a/b): the sidecars note SIGTERM by creating
// /host/<pod>.<sidecar>.term (a shell builtin: no fork), the app exits 0
// after appDelay (empty: it waits for SIGTERM); restartPolicy Never, so
// the pod then terminates its sidecars and succeeds.
func exitPod(name, dir string, appDelay string) *corev1.Pod {
	p := threeContainerPod(name)
	p.Spec.RestartPolicy = corev1.RestartPolicyNever
	for i := range p.Spec.InitContainers {
		c := &p.Spec.InitContainers[i]
		c.Command[2] = fmt.Sprintf(`trap ': > /host/%s.%s.term; exit 0' TERM; sleep 3600 & wait`, name, c.Name)
	}
	if appDelay != "" {
		p.Spec.Containers[0].Command[2] = "sleep " + appDelay + "; exit 0"
	}
	hostVolume(p, dir)
	return p
}

// crashPod (reaction c): sidecar-1's first run exits 1 after crashDelay;
// its restart (the first, which has no back-off) then keeps running.
func crashPod(name, dir, crashDelay string) *corev1.Pod {
	p := threeContainerPod(name)
	marker := "/host/" + name + ".crashed"
	p.Spec.InitContainers[0].Command[2] = fmt.Sprintf(
		`if [ -e %[1]s ]; then %[2]s; else : > %[1]s; sleep %[3]s; exit 1; fi`, marker, waitTERM, crashDelay)
	hostVolume(p, dir)
	return p
}

// restartingPod has one container that exits 1 after 3 s, so that the
// kubelet's back-off restarts it once 10 s later.
func restartingPod(name string) *corev1.Pod {
	return benchPod(name, 1, shell(appName, "sleep 3; exit 1"))
}
