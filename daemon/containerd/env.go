package containerd

import (
	"context"
	"fmt"
	"github.com/podrun/podrun/api"
	"iter"
	"maps"
	"math"
	"os"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/podrun/podrun/daemon/volumes"
	"github.com/podrun/podrun/supervisor"
)

// envResolver computes a container's environment the way the kubelet does
// (makeEnvironmentVariables): envFrom sources first, then env entries in
// order, each value expanded against the variables defined before it.
type envResolver struct {
	objects ObjectSource
	pod     *corev1.Pod
	sandbox supervisor.Sandbox
	cms     map[string]*corev1.ConfigMap
	secrets map[string]*corev1.Secret
}

// envList keeps NAME=value pairs in definition order; a redefinition
// replaces the value in place.
type envList struct {
	names []string
	vals  map[string]string
}

func (l *envList) set(k, v string) {
	if l.vals == nil {
		l.vals = map[string]string{}
	}
	if _, ok := l.vals[k]; !ok {
		l.names = append(l.names, k)
	}
	l.vals[k] = v
}

func (l *envList) lookup(k string) (string, bool) { v, ok := l.vals[k]; return v, ok }

func (l *envList) list() []string {
	out := make([]string, 0, len(l.names))
	for _, k := range l.names {
		out = append(out, k+"="+l.vals[k])
	}
	return out
}

func configError(format string, a ...any) error {
	return &supervisor.StartError{Reason: "CreateContainerConfigError", Message: fmt.Sprintf(format, a...)}
}

func (e *envResolver) resolve(ctx context.Context, c *corev1.Container) ([]string, error) {
	var env envList
	for _, src := range c.EnvFrom {
		if err := e.addEnvFrom(ctx, &env, src); err != nil {
			return nil, err
		}
	}
	for _, v := range c.Env {
		if v.ValueFrom == nil {
			env.set(v.Name, api.Expand(v.Value, env.lookup))
			continue
		}
		val, ok, err := e.valueFrom(ctx, c, v.ValueFrom)
		if err != nil {
			return nil, err
		}
		if ok {
			env.set(v.Name, val)
		}
	}
	return env.list(), nil
}

func (e *envResolver) addEnvFrom(ctx context.Context, env *envList, src corev1.EnvFromSource) error {
	var data map[string]string
	switch {
	case src.ConfigMapRef != nil:
		cm, err := e.configMap(ctx, src.ConfigMapRef.Name, optional(src.ConfigMapRef.Optional))
		if err != nil || cm == nil {
			return err
		}
		data = cm.Data
	case src.SecretRef != nil:
		s, err := e.secret(ctx, src.SecretRef.Name, optional(src.SecretRef.Optional))
		if err != nil || s == nil {
			return err
		}
		data = map[string]string{}
		for k, v := range s.Data {
			data[k] = string(v)
		}
		for k, v := range s.StringData {
			data[k] = v
		}
	default:
		return nil
	}
	for k, v := range sortedPairs(data) {
		name := src.Prefix + k
		// The kubelet skips keys that are not valid variable names.
		if len(validation.IsEnvVarName(name)) > 0 {
			continue
		}
		env.set(name, v)
	}
	return nil
}

func optional(b *bool) bool { return b != nil && *b }

func (e *envResolver) valueFrom(ctx context.Context, c *corev1.Container, src *corev1.EnvVarSource) (string, bool, error) {
	switch {
	case src.ConfigMapKeyRef != nil:
		return e.configMapKey(ctx, src.ConfigMapKeyRef)
	case src.SecretKeyRef != nil:
		return e.secretKey(ctx, src.SecretKeyRef)
	case src.FieldRef != nil:
		v, err := e.fieldValue(src.FieldRef.FieldPath)
		return v, err == nil, err
	case src.ResourceFieldRef != nil:
		v, err := e.resourceValue(c, src.ResourceFieldRef)
		return v, err == nil, err
	}
	return "", false, nil
}

// configMapKey resolves a configMapKeyRef: Data first, then BinaryData.
func (e *envResolver) configMapKey(ctx context.Context, ref *corev1.ConfigMapKeySelector) (string, bool, error) {
	cm, err := e.configMap(ctx, ref.Name, optional(ref.Optional))
	if err != nil || cm == nil {
		return "", false, err
	}
	return e.keyValue("ConfigMap", ref.Name, ref.Key, optional(ref.Optional), lookupIn(cm.Data), lookupIn(cm.BinaryData))
}

// secretKey resolves a secretKeyRef: Data first, then StringData.
func (e *envResolver) secretKey(ctx context.Context, ref *corev1.SecretKeySelector) (string, bool, error) {
	s, err := e.secret(ctx, ref.Name, optional(ref.Optional))
	if err != nil || s == nil {
		return "", false, err
	}
	return e.keyValue("Secret", ref.Name, ref.Key, optional(ref.Optional), lookupIn(s.Data), lookupIn(s.StringData))
}

// keyValue is the value of key in the first of an object's maps that has
// it; a missing key is no value when optional, else a config error.
func (e *envResolver) keyValue(kind, name, key string, opt bool, maps ...func(key string) (string, bool)) (string, bool, error) {
	for _, lookup := range maps {
		if v, ok := lookup(key); ok {
			return v, true, nil
		}
	}
	if opt {
		return "", false, nil
	}
	return "", false, configError("couldn't find key %s in %s %s/%s", key, kind, e.pod.Namespace, name)
}

// lookupIn looks a key up in a Data, BinaryData or StringData map.
func lookupIn[V string | []byte](m map[string]V) func(key string) (string, bool) {
	return func(key string) (string, bool) {
		v, ok := m[key]
		return string(v), ok
	}
}

func (e *envResolver) configMap(ctx context.Context, name string, opt bool) (*corev1.ConfigMap, error) {
	return lookup(ctx, e, e.cms, "configmap", name, opt, func(ctx context.Context, ns, name string) (*corev1.ConfigMap, error) {
		return e.objects.ConfigMap(ctx, ns, name)
	})
}

func (e *envResolver) secret(ctx context.Context, name string, opt bool) (*corev1.Secret, error) {
	return lookup(ctx, e, e.secrets, "secret", name, opt, func(ctx context.Context, ns, name string) (*corev1.Secret, error) {
		return e.objects.Secret(ctx, ns, name)
	})
}

// lookup gets the object kind/name of the pod's namespace with get, once
// per resolver (cache); a missing optional one is nil, a missing required
// one a config error.
func lookup[T any](ctx context.Context, e *envResolver, cache map[string]*T, kind, name string, opt bool,
	get func(ctx context.Context, ns, name string) (*T, error)) (*T, error) {
	if obj, ok := cache[name]; ok {
		return obj, nil
	}
	if e.objects == nil {
		return nil, configError("%s %q not found (no object source)", kind, name)
	}
	obj, err := get(ctx, e.pod.Namespace, name)
	switch {
	case apierrors.IsNotFound(err) && opt:
		obj = nil
	case apierrors.IsNotFound(err):
		return nil, configError("%s %q not found", kind, name)
	case err != nil:
		return nil, fmt.Errorf("get %s %s/%s: %w", kind, e.pod.Namespace, name, err)
	}
	cache[name] = obj
	return obj, nil
}

// fieldValue is the downward API for env (kubelet
// podFieldSelectorRuntimeValue): the volumes' FieldRefValue over the pod
// as it runs, with the sandbox's addresses and, without a nodeName, the
// host's name. Whole label and annotation maps are for volumes only.
func (e *envResolver) fieldValue(path string) (string, error) {
	if path == "metadata.labels" || path == "metadata.annotations" {
		return "", configError("unsupported fieldRef fieldPath %q", path)
	}
	p := *e.pod
	ip := e.podIP()
	p.Status.PodIP, p.Status.PodIPs = ip, []corev1.PodIP{{IP: ip}}
	p.Status.HostIP, p.Status.HostIPs = first(e.sandbox.HostIPs), nil
	for _, hip := range e.sandbox.HostIPs {
		p.Status.HostIPs = append(p.Status.HostIPs, corev1.HostIP{IP: hip})
	}
	if path == "spec.nodeName" && p.Spec.NodeName == "" {
		host, err := os.Hostname()
		if err != nil {
			return "", err
		}
		p.Spec.NodeName = host
	}
	v, err := volumes.FieldRefValue(&p, path)
	if err != nil { // the one error: a path it does not resolve
		return "", configError("unsupported fieldRef fieldPath %q", path)
	}
	return v, nil
}

// podIP is the sandbox's IP; with hostNetwork the pod has the host's IPs.
func (e *envResolver) podIP() string {
	if e.sandbox.PodIP == "" && e.pod.Spec.HostNetwork {
		return first(e.sandbox.HostIPs)
	}
	return e.sandbox.PodIP
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// resourceValue is kubelet's ExtractContainerResourceValue; an unset limit
// is the node's capacity.
func (e *envResolver) resourceValue(c *corev1.Container, ref *corev1.ResourceFieldSelector) (string, error) {
	target := c
	if ref.ContainerName != "" && ref.ContainerName != c.Name {
		target = api.FindContainer(e.pod, ref.ContainerName)
		if target == nil {
			return "", configError("resourceFieldRef: container %q not found in pod", ref.ContainerName)
		}
	}
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	res := target.Resources
	switch ref.Resource {
	case "limits.cpu":
		q, ok := res.Limits[corev1.ResourceCPU]
		if !ok {
			q = *resource.NewQuantity(int64(goruntime.NumCPU()), resource.DecimalSI)
		}
		return ceilDiv(float64(q.MilliValue()), float64(divisor.MilliValue())), nil
	case "requests.cpu":
		q := res.Requests[corev1.ResourceCPU]
		return ceilDiv(float64(q.MilliValue()), float64(divisor.MilliValue())), nil
	case "limits.memory", "limits.ephemeral-storage":
		name := corev1.ResourceName(strings.TrimPrefix(ref.Resource, "limits."))
		q, ok := res.Limits[name]
		if !ok {
			q = *resource.NewQuantity(nodeCapacity(name), resource.BinarySI)
		}
		return ceilDiv(float64(q.Value()), float64(divisor.Value())), nil
	case "requests.memory", "requests.ephemeral-storage":
		q := res.Requests[corev1.ResourceName(strings.TrimPrefix(ref.Resource, "requests."))]
		return ceilDiv(float64(q.Value()), float64(divisor.Value())), nil
	}
	return "", configError("unsupported resourceFieldRef resource %q", ref.Resource)
}

func ceilDiv(a, b float64) string {
	if b == 0 {
		return "0"
	}
	return strconv.FormatInt(int64(math.Ceil(a/b)), 10)
}

// nodeCapacity is the host's memory, or the root filesystem's size.
func nodeCapacity(name corev1.ResourceName) int64 {
	if name == corev1.ResourceMemory {
		var si unix.Sysinfo_t
		if unix.Sysinfo(&si) == nil {
			return int64(si.Totalram) * int64(si.Unit)
		}
		return 0
	}
	var st unix.Statfs_t
	if unix.Statfs("/", &st) == nil {
		return int64(st.Blocks) * int64(st.Bsize) // Bsize is int32 on 32-bit arm
	}
	return 0
}

// sortedPairs iterates a map by key so the environment is deterministic.
func sortedPairs(m map[string]string) iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if !yield(k, m[k]) {
				return
			}
		}
	}
}
