package kubeapi

import (
	"fmt"
	"strings"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/api/printer"
	"github.com/podrun/podrun/daemon/openapi"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// What a Table row carries of its object (?includeObject=).
const (
	IncludeNone     = "None"
	IncludeMetadata = "Metadata" // the default
	IncludeObject   = "Object"
)

// CanTable reports whether obj (an object or a list) has a table.
func CanTable(obj runtime.Object) bool {
	_, err := tableSample(obj)
	return err == nil
}

// tableSample is an object of obj's kind (of its items' kind for a list).
func tableSample(obj runtime.Object) (runtime.Object, error) {
	if !meta.IsListType(obj) {
		if !printer.HasTable(obj) {
			return nil, fmt.Errorf("no table for %T", obj)
		}
		return obj, nil
	}
	gvk := obj.GetObjectKind().GroupVersionKind()
	kind, isList := strings.CutSuffix(gvk.Kind, "List")
	if !isList {
		return nil, fmt.Errorf("no table for a %s", gvk.Kind)
	}
	sample, err := openapi.Scheme.New(gvk.GroupVersion().WithKind(kind))
	if err != nil || !printer.HasTable(sample) {
		return nil, fmt.Errorf("no table for %s", gvk.Kind)
	}
	return sample, nil
}

// AsTable renders obj, one object or a list, as the meta.k8s.io/v1 Table
// kubectl get asks for, with podctl's columns; each row's object is as
// include asks. noHeaders leaves the column definitions out (the watch
// events after the first, as the API server sends them).
func AsTable(obj runtime.Object, include string, noHeaders bool, now time.Time) (*metav1.Table, error) {
	sample, err := tableSample(obj)
	if err != nil {
		return nil, err
	}
	var items []runtime.Object
	if meta.IsListType(obj) {
		if items, err = meta.ExtractList(obj); err != nil {
			return nil, err
		}
	} else {
		items = []runtime.Object{obj}
	}
	switch include {
	case "":
		include = IncludeMetadata
	case IncludeNone, IncludeMetadata, IncludeObject:
	default:
		return nil, api.NewBadRequest(fmt.Sprintf(
			"includeObject=%q is not supported: use None, Metadata or Object", include))
	}
	objs := make([]any, len(items))
	for i, it := range items {
		objs[i] = it
	}
	t, err := printer.TableOf(objs, sample, now)
	if err != nil {
		return nil, err
	}
	if noHeaders {
		t.ColumnDefinitions = nil
	}
	if l, err := meta.ListAccessor(obj); err == nil {
		t.ResourceVersion, t.Continue, t.RemainingItemCount = l.GetResourceVersion(), l.GetContinue(), l.GetRemainingItemCount()
	} else if m, err := meta.Accessor(obj); err == nil {
		t.ResourceVersion = m.GetResourceVersion()
	}
	for i, it := range items {
		switch include {
		case IncludeObject:
			t.Rows[i].Object.Object = it
		case IncludeMetadata:
			pom, err := partialOf(it)
			if err != nil {
				return nil, err
			}
			// As the API server's rows: the managed fields are noise to a table.
			pom.ManagedFields = nil
			t.Rows[i].Object.Object = pom
		}
	}
	return t, nil
}
