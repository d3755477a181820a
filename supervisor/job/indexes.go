package job

import (
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/utils/ptr"
)

// parseIndexSet reads an index list like "1,3-5,7" (completedIndexes,
// failedIndexes, succeededIndexes), keeping indexes below limit. It is
// lenient: what it cannot read it skips, as the controller must go on.
func parseIndexSet(s string, limit int32) sets.Set[int32] {
	out := sets.New[int32]()
	if s == "" {
		return out
	}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		first, err := strconv.ParseInt(lo, 10, 32)
		if err != nil || first < 0 {
			continue
		}
		last := first
		if isRange {
			if last, err = strconv.ParseInt(hi, 10, 32); err != nil {
				continue
			}
		}
		if last >= int64(limit) {
			last = int64(limit) - 1
		}
		for i := first; i <= last; i++ {
			out.Insert(int32(i))
		}
	}
	return out
}

// formatIndexSet writes indexes in Kubernetes' compressed form: runs of
// three or more become "a-b", so {1,3,4,5,7} is "1,3-5,7" and {1,2} is "1,2".
func formatIndexSet(s sets.Set[int32]) string {
	idx := sets.List(s)
	var b strings.Builder
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && idx[j+1] == idx[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(int(idx[i])))
		switch {
		case j == i+1:
			b.WriteByte(',')
			b.WriteString(strconv.Itoa(int(idx[j])))
		case j > i+1:
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(int(idx[j])))
		}
		i = j + 1
	}
	return b.String()
}

// podIndex is the completion index of an Indexed Job's pod, -1 when it has
// none or it is not a number.
func podIndex(p *corev1.Pod) int32 {
	v, ok := p.Annotations[batchv1.JobCompletionIndexAnnotation]
	if !ok {
		v, ok = p.Labels[batchv1.JobCompletionIndexAnnotation]
	}
	if !ok {
		return -1
	}
	i, err := strconv.ParseInt(v, 10, 32)
	if err != nil || i < 0 {
		return -1
	}
	return int32(i)
}

// podIndexFailures is how many times the pod's index had failed before
// the pod was created (backoffLimitPerIndex).
func podIndexFailures(p *corev1.Pod) int32 {
	n, err := strconv.ParseInt(p.Annotations[batchv1.JobIndexFailureCountAnnotation], 10, 32)
	if err != nil || n < 0 {
		return 0
	}
	return int32(n)
}

// indexFailures is how many times index i failed, from its failed pods.
func (st *syncState) indexFailures(i int32) int32 {
	var n int32
	for _, p := range st.failed {
		if podIndex(p) == i && podIndexFailures(p)+1 > n {
			n = podIndexFailures(p) + 1
		}
	}
	return n
}

// pendingIndexes are the indexes that need a pod: not completed, not
// failed, not held by a pod in the given list, lowest first.
func (st *syncState) pendingIndexes(held []*corev1.Pod) []int32 {
	taken := sets.New[int32]()
	for _, p := range held {
		taken.Insert(podIndex(p))
	}
	var out []int32
	n := ptr.Deref(st.job.Spec.Completions, 0)
	for i := int32(0); i < n; i++ {
		if !st.completed.Has(i) && !st.failedIdx.Has(i) && !taken.Has(i) {
			out = append(out, i)
		}
	}
	return out
}
