package objects

import (
	"fmt"
	"sort"
	"strings"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/daemon/store"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// fieldTerm is one term of a fieldSelector: key=value, key==value or key!=value.
type fieldTerm struct {
	key, value string
	negate     bool
}

// Filter is what one list or watch request wants.
type Filter struct {
	bucket    string
	namespace string // "" = all
	terms     []fieldTerm
}

// selectableFields are the fieldSelector keys each kind supports (beyond
// metadata.name and metadata.namespace), as the API server offers them.
var selectableFields = map[string][]string{
	store.BucketPods:   {"status.phase", "spec.restartPolicy", "spec.nodeName"},
	store.BucketEvents: {"involvedObject.kind", "involvedObject.name", "involvedObject.namespace", "involvedObject.uid", "involvedObject.fieldPath", "reason", "type", "source"},
	store.BucketJobs:   {"status.successful"},
}

// NewFilter reads a fieldSelector (?fieldSelector=) for a list or watch
// of bucket in namespace ns ("" = all).
func NewFilter(bucket, ns, sel string) (Filter, error) {
	f := Filter{bucket: bucket, namespace: ns}
	if sel == "" {
		return f, nil
	}
	allowed := map[string]bool{"metadata.name": true, "metadata.namespace": true}
	for _, k := range selectableFields[bucket] {
		allowed[k] = true
	}
	for _, raw := range strings.Split(sel, ",") {
		t, err := parseTerm(raw)
		if err != nil {
			return f, err
		}
		if !allowed[t.key] {
			keys := make([]string, 0, len(allowed))
			for k := range allowed {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			return f, api.NewBadRequest(fmt.Sprintf("field label not supported: %s (supported: %s)", t.key, strings.Join(keys, ", ")))
		}
		f.terms = append(f.terms, t)
	}
	return f, nil
}

func parseTerm(raw string) (fieldTerm, error) {
	for _, op := range []string{"!=", "==", "="} {
		if k, v, ok := strings.Cut(raw, op); ok {
			return fieldTerm{key: strings.TrimSpace(k), value: strings.TrimSpace(v), negate: op == "!="}, nil
		}
	}
	return fieldTerm{}, api.NewBadRequest(fmt.Sprintf("invalid fieldSelector term %q: want KEY=VALUE or KEY!=VALUE", raw))
}

// Matches reports whether obj is in the namespace and passes the selector.
func (f Filter) Matches(obj runtime.Object) bool {
	m, ok := obj.(metav1.Object)
	if !ok {
		return false
	}
	if f.namespace != "" && m.GetNamespace() != f.namespace {
		return false
	}
	for _, t := range f.terms {
		if (fieldValue(obj, t.key) == t.value) == t.negate {
			return false
		}
	}
	return true
}

// fieldValue is the value of a selectable field of obj.
func fieldValue(obj runtime.Object, key string) string {
	if m, ok := obj.(metav1.Object); ok {
		switch key {
		case "metadata.name":
			return m.GetName()
		case "metadata.namespace":
			return m.GetNamespace()
		}
	}
	switch o := obj.(type) {
	case *corev1.Pod:
		return map[string]string{"status.phase": string(o.Status.Phase),
			"spec.restartPolicy": string(o.Spec.RestartPolicy), "spec.nodeName": o.Spec.NodeName}[key]
	case *corev1.Event:
		io := o.InvolvedObject
		return map[string]string{"involvedObject.kind": io.Kind, "involvedObject.name": io.Name,
			"involvedObject.namespace": io.Namespace, "involvedObject.uid": string(io.UID),
			"involvedObject.fieldPath": io.FieldPath, "reason": o.Reason, "type": o.Type,
			"source": o.Source.Component}[key]
	case *batchv1.Job:
		if key == "status.successful" {
			return fmt.Sprint(o.Status.Succeeded)
		}
	}
	return ""
}
