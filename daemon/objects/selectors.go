package objects

import (
	"fmt"
	"strconv"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/daemon/store"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

// Filter is what one list or watch request wants: a kind, a namespace and
// the request's labelSelector and fieldSelector.
type Filter struct {
	bucket    string
	namespace string // "" = all
	labels    labels.Selector
	fields    fields.Selector
}

// selectableFields are the fieldSelector keys each kind supports besides
// metadata.name and metadata.namespace, as the API server offers them
// (its field label conversion functions), with their values.
var selectableFields = map[string]func(obj runtime.Object) fields.Set{
	store.BucketPods: func(obj runtime.Object) fields.Set {
		p := obj.(*corev1.Pod)
		return fields.Set{"status.phase": string(p.Status.Phase), "spec.restartPolicy": string(p.Spec.RestartPolicy),
			"spec.nodeName": p.Spec.NodeName, "status.podIP": p.Status.PodIP,
			"spec.schedulerName": p.Spec.SchedulerName, "spec.serviceAccountName": p.Spec.ServiceAccountName,
			"spec.hostNetwork": strconv.FormatBool(p.Spec.HostNetwork), "status.nominatedNodeName": p.Status.NominatedNodeName}
	},
	store.BucketEvents: func(obj runtime.Object) fields.Set {
		e := obj.(*corev1.Event)
		io := e.InvolvedObject
		return fields.Set{"involvedObject.kind": io.Kind, "involvedObject.name": io.Name,
			"involvedObject.namespace": io.Namespace, "involvedObject.uid": string(io.UID),
			"involvedObject.apiVersion": io.APIVersion, "involvedObject.resourceVersion": io.ResourceVersion,
			"involvedObject.fieldPath": io.FieldPath, "reason": e.Reason, "reportingComponent": e.ReportingController,
			"type": e.Type, "source": e.Source.Component}
	},
	store.BucketJobs: func(obj runtime.Object) fields.Set {
		return fields.Set{"status.successful": fmt.Sprint(obj.(*batchv1.Job).Status.Succeeded)}
	},
	store.BucketSecrets: func(obj runtime.Object) fields.Set {
		return fields.Set{"type": string(obj.(*corev1.Secret).Type)}
	},
}

// fieldSet is every selectable field of obj with its value.
func fieldSet(bucket string, obj runtime.Object) fields.Set {
	set := fields.Set{}
	if more := selectableFields[bucket]; more != nil {
		set = more(obj)
	}
	if m, ok := obj.(metav1.Object); ok {
		set["metadata.name"], set["metadata.namespace"] = m.GetName(), m.GetNamespace()
	}
	return set
}

// NewFilter reads a fieldSelector (?fieldSelector=) for a list or watch
// of bucket in namespace ns ("" = all).
func NewFilter(bucket, ns, fieldSelector string) (Filter, error) {
	sel, err := fields.ParseSelector(fieldSelector)
	if err != nil {
		return Filter{}, api.NewBadRequest(err.Error())
	}
	return newFilter(bucket, ns, &metainternalversion.ListOptions{FieldSelector: sel})
}

// newFilter checks the selectors of a decoded list request: a field the
// kind does not offer is the API server's 400 `field label not
// supported: x`.
func newFilter(bucket, ns string, opts *metainternalversion.ListOptions) (Filter, error) {
	f := Filter{bucket: bucket, namespace: ns, labels: opts.LabelSelector, fields: opts.FieldSelector}
	if f.labels == nil {
		f.labels = labels.Everything()
	}
	if f.fields == nil {
		f.fields = fields.Everything()
	}
	offered := fieldSet(bucket, kindOf(bucket).empty())
	for _, req := range f.fields.Requirements() {
		if _, ok := offered[req.Field]; !ok {
			return Filter{}, api.NewBadRequest(fmt.Sprintf("field label not supported: %s", req.Field))
		}
	}
	return f, nil
}

// Matches reports whether obj is in the namespace and passes both
// selectors.
func (f Filter) Matches(obj runtime.Object) bool {
	m, ok := obj.(metav1.Object)
	if !ok {
		return false
	}
	if f.namespace != "" && m.GetNamespace() != f.namespace {
		return false
	}
	if !f.labels.Empty() && !f.labels.Matches(labels.Set(m.GetLabels())) {
		return false
	}
	return f.fields.Empty() || f.fields.Matches(fieldSet(f.bucket, obj))
}

// Bucket is the kind (store bucket) the filter is for.
func (f Filter) Bucket() string { return f.bucket }
