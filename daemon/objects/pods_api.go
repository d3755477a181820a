package objects

import (
	"context"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/supervisor"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
)

// The pod API's writes with the API server's request options (dry run,
// optimistic concurrency, patches, DeleteOptions); the pod rules
// themselves are in pods.go and pods_update.go.

var podResource = kindOf(BucketPods).resource

// PreparePod defaults, validates and admits a submitted pod as the API
// server would (a generateName is resolved first).
func (b *Objects) PreparePod(pod *corev1.Pod) error {
	if pod.Name == "" && pod.GenerateName != "" {
		pod.Name = pod.GenerateName + rand.String(5)
	}
	api.DefaultPod(pod)
	if err := api.Validate(pod); err != nil {
		return err
	}
	return b.AdmitPod(pod)
}

// CreatePodAs is a POST of a prepared pod: stored and started, or with
// dry run only given its identity and returned.
func (b *Objects) CreatePodAs(ctx context.Context, pod *corev1.Pod, o WriteOptions) (*corev1.Pod, error) {
	b.manageCreate(kindOf(BucketPods), pod, o)
	if o.DryRun {
		b.newPodIdentity(pod)
		return pod, nil
	}
	rec, err := b.SubmitPod(ctx, pod)
	if err != nil {
		return nil, err
	}
	return rec.Pod, nil
}

// UpdatePod is a PUT of a prepared pod: its resourceVersion, when set,
// must be the stored pod's (409 otherwise), its UID may not change.
func (b *Objects) UpdatePod(ctx context.Context, next *corev1.Pod, o WriteOptions) (*corev1.Pod, error) {
	cur, err := b.st.Pods().Get(ctx, next.Namespace, next.Name)
	if err != nil {
		return nil, err
	}
	if err := checkVersion(podResource, &next.ObjectMeta, &cur.Pod.ObjectMeta); err != nil {
		return nil, err
	}
	if err := RefuseManagedWrite("Pod", cur.Pod, o.FileForced); err != nil {
		return nil, err
	}
	if next.UID != "" && next.UID != cur.Pod.UID {
		return nil, keepIdentity("Pod", &next.ObjectMeta, &cur.Pod.ObjectMeta)
	}
	base := cur.Pod // what ApplyPod compares with: a waiting replacement, else the pod
	if pending, err := b.st.PendingPods().Get(ctx, next.Namespace, next.Name); err == nil {
		base = pending
	}
	b.manageUpdate(kindOf(BucketPods), next, base, o)
	if o.DryRun {
		out := next.DeepCopy()
		if err := keepIdentity("Pod", &out.ObjectMeta, &cur.Pod.ObjectMeta); err != nil {
			return nil, err
		}
		out.ResourceVersion, out.Status = cur.Pod.ResourceVersion, cur.Pod.Status
		return out, nil
	}
	return b.ApplyPod(ctx, next)
}

// PatchPod is a PATCH of a pod: the patched pod goes the way of a PUT
// (defaulting, validation, admission, change classification).
func (b *Objects) PatchPod(ctx context.Context, namespace, name string, pr *PatchRequest) (*corev1.Pod, bool, error) {
	k := kindOf(BucketPods)
	for try := 0; ; try++ {
		rec, err := b.st.Pods().Get(ctx, namespace, name)
		absent := apierrors.IsNotFound(err) && pr.isApply()
		cur := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
		switch {
		case absent:
		case err != nil:
			return nil, false, err
		default:
			cur = rec.Pod
		}
		cur.TypeMeta = podTypeMeta
		raw, err := b.patched(k, cur, pr)
		if err != nil {
			return nil, false, err
		}
		next, ok := raw.(*corev1.Pod)
		if !ok {
			return nil, false, api.NewBadRequest("the patched object is not a Pod")
		}
		if err := checkPatchedName(&next.ObjectMeta, namespace, name); err != nil {
			return nil, false, err
		}
		if err := b.PreparePod(next); err != nil {
			return nil, false, err
		}
		if absent {
			out, err := b.CreatePodAs(ctx, next, pr.WriteOptions)
			if apierrors.IsAlreadyExists(err) && try < 5 {
				continue
			}
			return out, err == nil, err
		}
		pinned := next.ResourceVersion != ""
		if !pinned {
			next.ResourceVersion = cur.ResourceVersion
		}
		out, err := b.UpdatePod(ctx, next, pr.WriteOptions)
		if apierrors.IsConflict(err) && !pinned && try < 5 {
			continue
		}
		return out, false, err
	}
}

var podTypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}

// DeletePodAs is a DELETE of a pod with its DeleteOptions: preconditions,
// gracePeriodSeconds (a negative one is 1, as the API server has it) and
// dry run.
func (b *Objects) DeletePodAs(ctx context.Context, namespace, name string, opts *metav1.DeleteOptions, forced bool) (*corev1.Pod, error) {
	rec, err := b.st.Pods().Get(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	if err := RefuseManagedWrite("Pod", rec.Pod, forced); err != nil {
		return nil, err
	}
	if err := checkPreconditions(podResource, opts.Preconditions, &rec.Pod.ObjectMeta); err != nil {
		return nil, err
	}
	grace := opts.GracePeriodSeconds
	if grace != nil && *grace < 0 {
		one := int64(1)
		grace = &one
	}
	if len(opts.DryRun) > 0 {
		return rec.Pod, nil
	}
	return b.RequestDeletion(ctx, namespace, name, grace)
}

// DeletePods deletes every pod the list request selects (a DELETE on the
// collection) and returns them as their deletion left them.
func (b *Objects) DeletePods(ctx context.Context, req *ListRequest, opts *metav1.DeleteOptions, forced bool) ([]*corev1.Pod, error) {
	recs, _, err := b.st.Pods().List(ctx, req.namespace)
	if err != nil {
		return nil, err
	}
	return deleteSelected(recs, func(rec *supervisor.PodRecord) bool { return req.Matches(publicPod(rec)) },
		func(rec *supervisor.PodRecord) (*corev1.Pod, error) {
			return b.DeletePodAs(ctx, rec.Pod.Namespace, rec.Pod.Name, opts, forced)
		})
}

// publicPod is the API object of a pod record.
func publicPod(rec *supervisor.PodRecord) *corev1.Pod {
	p := rec.Pod.DeepCopy()
	p.TypeMeta = podTypeMeta
	return p
}
