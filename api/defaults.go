package api

import (
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
)

// Defaults the API server applies (pkg/apis/core/v1/defaults.go,
// pkg/apis/batch/v1/defaults.go). Applying them twice changes nothing.
const (
	DefaultTerminationGracePeriodSeconds int64 = 30 // R7
	DefaultSchedulerName                       = "default-scheduler"
	DefaultTerminationMessagePath              = "/dev/termination-log"
	DefaultBackoffLimit                  int32 = 6 // R-V2
	defaultVolumeMode                    int32 = 0o644
)

// Default applies the defaults of the object's kind; other objects are left alone.
func Default(obj runtime.Object) {
	switch o := obj.(type) {
	case *corev1.Pod:
		DefaultPod(o)
	case *batchv1.Job:
		DefaultJob(o)
	case *batchv1.CronJob:
		DefaultCronJob(o)
	case *corev1.ConfigMap:
		DefaultConfigMap(o)
	case *corev1.Secret:
		DefaultSecret(o)
	}
}

// DefaultPod defaults a Pod as the API server does on create.
func DefaultPod(pod *corev1.Pod) {
	pod.Kind, pod.APIVersion = PodGVK.Kind, PodGVK.GroupVersion().String()
	// As SetDefaults_Pod: a negative grace period is 1 s, not an error.
	if g := pod.Spec.TerminationGracePeriodSeconds; g != nil && *g < 0 {
		pod.Spec.TerminationGracePeriodSeconds = ptr.To[int64](1)
	}
	DefaultPodSpec(&pod.Spec)
	// SetDefaults_Pod (not PodSpec): so a Job's template keeps these unset
	// and the pods made from it get them.
	if pod.Spec.EnableServiceLinks == nil {
		pod.Spec.EnableServiceLinks = ptr.To(corev1.DefaultEnableServiceLinks)
	}
	for i := range pod.Spec.InitContainers {
		defaultRequestsFromLimits(&pod.Spec.InitContainers[i].Resources)
	}
	for i := range pod.Spec.Containers {
		defaultRequestsFromLimits(&pod.Spec.Containers[i].Resources)
	}
}

// DefaultPodSpec defaults a pod spec (of a Pod or of a Job's template).
func DefaultPodSpec(spec *corev1.PodSpec) {
	if spec.RestartPolicy == "" {
		spec.RestartPolicy = corev1.RestartPolicyAlways // R7
	}
	if spec.TerminationGracePeriodSeconds == nil {
		spec.TerminationGracePeriodSeconds = ptr.To(DefaultTerminationGracePeriodSeconds) // R7
	}
	if spec.DNSPolicy == "" {
		spec.DNSPolicy = corev1.DNSClusterFirst
	}
	if spec.SchedulerName == "" {
		spec.SchedulerName = DefaultSchedulerName
	}
	if spec.SecurityContext == nil {
		spec.SecurityContext = &corev1.PodSecurityContext{}
	}
	for i := range spec.InitContainers {
		defaultContainer(&spec.InitContainers[i], spec.HostNetwork)
	}
	for i := range spec.Containers {
		defaultContainer(&spec.Containers[i], spec.HostNetwork)
	}
	for i := range spec.Volumes {
		defaultVolume(&spec.Volumes[i])
	}
}

func defaultContainer(c *corev1.Container, hostNetwork bool) {
	// lifecycle.stopSignal is behind the ContainerStopSignals gate, alpha
	// and off in v1.37: the API server drops it on create (and a lifecycle
	// left empty), so podrun does too; the image's stop signal is used.
	if l := c.Lifecycle; l != nil && l.StopSignal != nil {
		l.StopSignal = nil
		if *l == (corev1.Lifecycle{}) {
			c.Lifecycle = nil
		}
	}
	if c.ImagePullPolicy == "" {
		c.ImagePullPolicy = PullPolicyFor(c.Image)
	}
	if c.TerminationMessagePath == "" {
		c.TerminationMessagePath = DefaultTerminationMessagePath
	}
	if c.TerminationMessagePolicy == "" {
		c.TerminationMessagePolicy = corev1.TerminationMessageReadFile
	}
	for i := range c.Ports {
		p := &c.Ports[i]
		if p.Protocol == "" {
			p.Protocol = corev1.ProtocolTCP
		}
		if hostNetwork && p.HostPort == 0 {
			p.HostPort = p.ContainerPort // SetDefaults_Pod: host network publishes container ports
		}
	}
	for i := range c.Env {
		if vf := c.Env[i].ValueFrom; vf != nil && vf.FieldRef != nil && vf.FieldRef.APIVersion == "" {
			vf.FieldRef.APIVersion = "v1"
		}
	}
	defaultProbe(c.LivenessProbe)
	defaultProbe(c.ReadinessProbe)
	defaultProbe(c.StartupProbe)
	if c.Lifecycle != nil {
		defaultHandler(c.Lifecycle.PostStart)
		defaultHandler(c.Lifecycle.PreStop)
	}
}

// PullPolicyFor is the API server's default imagePullPolicy: Always for
// `:latest` or an untagged image, IfNotPresent for any other tag or a digest.
func PullPolicyFor(image string) corev1.PullPolicy {
	if strings.Contains(image, "@") {
		return corev1.PullIfNotPresent
	}
	name := image
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:] // a registry port ("host:5000/img") is not a tag
	}
	tag := ""
	if i := strings.LastIndex(name, ":"); i >= 0 {
		tag = name[i+1:]
	}
	if tag == "" || tag == "latest" {
		return corev1.PullAlways
	}
	return corev1.PullIfNotPresent
}

// defaultRequestsFromLimits copies a limit to an unset request, as
// SetDefaults_Pod does.
func defaultRequestsFromLimits(r *corev1.ResourceRequirements) {
	for name, limit := range r.Limits {
		if _, ok := r.Requests[name]; ok {
			continue
		}
		if r.Requests == nil {
			r.Requests = corev1.ResourceList{}
		}
		r.Requests[name] = limit.DeepCopy()
	}
}

// defaultProbe applies R6.
func defaultProbe(p *corev1.Probe) {
	if p == nil {
		return
	}
	if p.TimeoutSeconds == 0 {
		p.TimeoutSeconds = 1
	}
	if p.PeriodSeconds == 0 {
		p.PeriodSeconds = 10
	}
	if p.SuccessThreshold == 0 {
		p.SuccessThreshold = 1
	}
	if p.FailureThreshold == 0 {
		p.FailureThreshold = 3
	}
	defaultHTTPGet(p.HTTPGet)
}

func defaultHandler(h *corev1.LifecycleHandler) {
	if h != nil {
		defaultHTTPGet(h.HTTPGet)
	}
}

func defaultHTTPGet(h *corev1.HTTPGetAction) {
	if h == nil {
		return
	}
	if h.Path == "" {
		h.Path = "/"
	}
	if h.Scheme == "" {
		h.Scheme = corev1.URISchemeHTTP
	}
}

func defaultVolume(v *corev1.Volume) {
	s := &v.VolumeSource
	if countVolumeSources(s) == 0 {
		s.EmptyDir = &corev1.EmptyDirVolumeSource{}
	}
	if s.ConfigMap != nil && s.ConfigMap.DefaultMode == nil {
		s.ConfigMap.DefaultMode = ptr.To(defaultVolumeMode)
	}
	if s.Secret != nil && s.Secret.DefaultMode == nil {
		s.Secret.DefaultMode = ptr.To(defaultVolumeMode)
	}
	if s.Projected != nil && s.Projected.DefaultMode == nil {
		s.Projected.DefaultMode = ptr.To(defaultVolumeMode)
	}
	if s.DownwardAPI != nil {
		if s.DownwardAPI.DefaultMode == nil {
			s.DownwardAPI.DefaultMode = ptr.To(defaultVolumeMode)
		}
		defaultDownwardAPIItems(s.DownwardAPI.Items)
	}
	if s.Projected != nil {
		// The API server defaults every ObjectFieldSelector, projected
		// downwardAPI items included; validation then requires apiVersion.
		for i := range s.Projected.Sources {
			if d := s.Projected.Sources[i].DownwardAPI; d != nil {
				defaultDownwardAPIItems(d.Items)
			}
		}
	}
	if s.HostPath != nil && s.HostPath.Type == nil {
		s.HostPath.Type = ptr.To(corev1.HostPathUnset)
	}
}

func defaultDownwardAPIItems(items []corev1.DownwardAPIVolumeFile) {
	for i := range items {
		if f := items[i].FieldRef; f != nil && f.APIVersion == "" {
			f.APIVersion = "v1"
		}
	}
}

// DefaultConfigMap sets the TypeMeta; ConfigMaps have no other defaults.
func DefaultConfigMap(cm *corev1.ConfigMap) {
	cm.Kind, cm.APIVersion = ConfigMapGVK.Kind, ConfigMapGVK.GroupVersion().String()
}

// DefaultSecret merges stringData into data (stringData wins, and is
// write-only as in the API server) and defaults the type to Opaque.
func DefaultSecret(s *corev1.Secret) {
	s.Kind, s.APIVersion = SecretGVK.Kind, SecretGVK.GroupVersion().String()
	if s.Type == "" {
		s.Type = corev1.SecretTypeOpaque
	}
	if len(s.StringData) > 0 && s.Data == nil {
		s.Data = make(map[string][]byte, len(s.StringData))
	}
	for k, v := range s.StringData {
		s.Data[k] = []byte(v)
	}
	s.StringData = nil
}
