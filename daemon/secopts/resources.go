package secopts

import (
	"github.com/containerd/containerd/v2/pkg/oci"
	corev1 "k8s.io/api/core/v1"
)

// The kubelet's CPU arithmetic (pkg/kubelet/cm/helpers_linux.go).
const (
	minShares     = 2
	maxShares     = 262144
	sharesPerCPU  = 1024
	milliCPUToCPU = 1000
	// QuotaPeriod is the CFS period in microseconds (100ms).
	QuotaPeriod    = 100000
	minQuotaPeriod = 1000
)

// MilliCPUToShares converts a CPU request to cgroup cpu.shares; no request
// gets the minimum, 2, as under the kubelet.
func MilliCPUToShares(milliCPU int64) uint64 {
	if milliCPU == 0 {
		return minShares
	}
	shares := milliCPU * sharesPerCPU / milliCPUToCPU
	if shares < minShares {
		return minShares
	}
	if shares > maxShares {
		return maxShares
	}
	return uint64(shares)
}

// MilliCPUToQuota converts a CPU limit to a CFS quota for period; 0 means no limit.
func MilliCPUToQuota(milliCPU, period int64) int64 {
	if milliCPU == 0 {
		return 0
	}
	quota := milliCPU * period / milliCPUToCPU
	if quota < minQuotaPeriod {
		quota = minQuotaPeriod
	}
	return quota
}

// resourceOpts maps requests and limits to the container's cgroup: CPU
// shares from the request, CFS quota from the limit, the memory limit.
// (API defaulting already copied limits into unset requests.)
// The oom_score_adj follows the pod's QoS class, within oom's limit.
func resourceOpts(pod *corev1.Pod, c *corev1.Container, oom OOMScoreLimit) []oci.SpecOpts {
	req, lim := c.Resources.Requests, c.Resources.Limits
	opts := []oci.SpecOpts{
		oci.WithCPUShares(MilliCPUToShares(req.Cpu().MilliValue())),
		withOOMScoreAdj(oom.Clamp(OOMScoreAdj(pod, c, memoryCapacity()))),
	}
	if q := MilliCPUToQuota(lim.Cpu().MilliValue(), QuotaPeriod); q > 0 {
		opts = append(opts, oci.WithCPUCFS(q, QuotaPeriod))
	}
	if mem := lim.Memory().Value(); mem > 0 {
		opts = append(opts, oci.WithMemoryLimit(uint64(mem)))
	}
	return opts
}
