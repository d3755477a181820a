package kubeapi

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

var partialTypeMeta = metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "PartialObjectMetadata"}

// partialOf is obj's metadata alone.
func partialOf(obj runtime.Object) (*metav1.PartialObjectMetadata, error) {
	acc, ok := obj.(metav1.ObjectMetaAccessor)
	if !ok {
		return nil, fmt.Errorf("%T has no object metadata", obj)
	}
	p := &metav1.PartialObjectMetadata{TypeMeta: partialTypeMeta}
	acc.GetObjectMeta().(*metav1.ObjectMeta).DeepCopyInto(&p.ObjectMeta)
	return p, nil
}

// AsPartialMetadata is obj, one object or a list, as its metadata alone:
// a PartialObjectMetadata or a PartialObjectMetadataList.
func AsPartialMetadata(obj runtime.Object) (runtime.Object, error) {
	if !meta.IsListType(obj) {
		return partialOf(obj)
	}
	items, err := meta.ExtractList(obj)
	if err != nil {
		return nil, err
	}
	out := &metav1.PartialObjectMetadataList{
		TypeMeta: metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "PartialObjectMetadataList"},
		Items:    make([]metav1.PartialObjectMetadata, 0, len(items))}
	if l, err := meta.ListAccessor(obj); err == nil {
		out.ResourceVersion, out.Continue, out.RemainingItemCount = l.GetResourceVersion(), l.GetContinue(), l.GetRemainingItemCount()
	}
	for _, it := range items {
		p, err := partialOf(it)
		if err != nil {
			return nil, err
		}
		out.Items = append(out.Items, *p)
	}
	return out, nil
}
