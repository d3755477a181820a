package volumes

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/podrun/podrun/api"
)

// FieldRefValue resolves a downward API fieldRef against the pod, for
// downwardAPI volumes and (by the runtime) for env valueFrom.fieldRef.
// status.podIP/hostIP come from pod.Status, so the caller sets them first.
func FieldRefValue(pod *corev1.Pod, fieldPath string) (string, error) {
	if key, ok := subscript(fieldPath, "metadata.labels"); ok {
		return pod.Labels[key], nil
	}
	if key, ok := subscript(fieldPath, "metadata.annotations"); ok {
		return pod.Annotations[key], nil
	}
	switch fieldPath {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "metadata.labels":
		return formatMap(pod.Labels), nil
	case "metadata.annotations":
		return formatMap(pod.Annotations), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.podIP":
		return pod.Status.PodIP, nil
	case "status.hostIP":
		return pod.Status.HostIP, nil
	case "status.podIPs":
		ips := make([]string, 0, len(pod.Status.PodIPs))
		for _, ip := range pod.Status.PodIPs {
			ips = append(ips, ip.IP)
		}
		return strings.Join(ips, ","), nil
	case "status.hostIPs":
		ips := make([]string, 0, len(pod.Status.HostIPs))
		for _, ip := range pod.Status.HostIPs {
			ips = append(ips, ip.IP)
		}
		return strings.Join(ips, ","), nil
	}
	return "", fmt.Errorf("unsupported fieldRef %q", fieldPath)
}

// subscript parses "prefix['key']". The "']" must follow the "['": in
// "prefix[']" the two overlap, and that is no subscript (the kubelet's
// fieldpath.SplitMaybeSubscriptedPath refuses it too).
func subscript(path, prefix string) (string, bool) {
	rest, ok := strings.CutPrefix(path, prefix+"['")
	if !ok || !strings.HasSuffix(rest, "']") {
		return "", false
	}
	return strings.TrimSuffix(rest, "']"), true
}

// formatMap renders labels/annotations as the kubelet does: sorted
// key="value" lines (Go-quoted values), no trailing newline.
func formatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%s=%q", k, m[k])
	}
	return b.String()
}

// Allocatable is what a container without a limit may use: the node's
// capacity, which the downward API reports for unset limits.
type Allocatable struct {
	MilliCPU    int64
	MemoryBytes int64
}

// NodeAllocatable reads the host's CPU count and memory.
func NodeAllocatable() Allocatable {
	a := Allocatable{MilliCPU: int64(runtime.NumCPU()) * 1000}
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return a
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, _ := strconv.ParseInt(fields[1], 10, 64)
			a.MemoryBytes = kb * 1024
		}
	}
	return a
}

// ResourceFieldValue resolves a resourceFieldRef of container containerName
// (kubelet's ExtractContainerResourceValue): the quantity divided by the
// divisor, rounded up; an unset limit reports the node's allocatable.
func ResourceFieldValue(pod *corev1.Pod, containerName string, ref *corev1.ResourceFieldSelector, node Allocatable) (string, error) {
	c := api.FindContainer(pod, containerName)
	if c == nil {
		return "", fmt.Errorf("resourceFieldRef: container %q not found in pod", containerName)
	}
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	limit := func(name corev1.ResourceName, fallback int64, milli bool) resource.Quantity {
		if q, ok := c.Resources.Limits[name]; ok {
			return q
		}
		if milli {
			return *resource.NewMilliQuantity(fallback, resource.DecimalSI)
		}
		return *resource.NewQuantity(fallback, resource.BinarySI)
	}
	ceilDiv := func(a, b int64) string {
		return strconv.FormatInt(int64(math.Ceil(float64(a)/float64(b))), 10)
	}
	switch ref.Resource {
	case "limits.cpu":
		q := limit(corev1.ResourceCPU, node.MilliCPU, true)
		return ceilDiv(q.MilliValue(), divisor.MilliValue()), nil
	case "requests.cpu":
		q := c.Resources.Requests[corev1.ResourceCPU]
		return ceilDiv(q.MilliValue(), divisor.MilliValue()), nil
	case "limits.memory":
		q := limit(corev1.ResourceMemory, node.MemoryBytes, false)
		return ceilDiv(q.Value(), divisor.Value()), nil
	case "requests.memory":
		q := c.Resources.Requests[corev1.ResourceMemory]
		return ceilDiv(q.Value(), divisor.Value()), nil
	case "limits.ephemeral-storage", "requests.ephemeral-storage":
		list := c.Resources.Limits
		if strings.HasPrefix(ref.Resource, "requests.") {
			list = c.Resources.Requests
		}
		q := list[corev1.ResourceEphemeralStorage]
		return ceilDiv(q.Value(), divisor.Value()), nil
	}
	return "", fmt.Errorf("unsupported resourceFieldRef resource %q", ref.Resource)
}
