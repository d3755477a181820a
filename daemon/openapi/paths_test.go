package openapi

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

var testResources = []Resource{
	{GVK: schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, Plural: "pods", Namespaced: true,
		Verbs: []string{"create", "delete", "get", "list", "patch", "update", "watch"},
		Subresources: []Subresource{
			{Name: "log", GVK: schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, Verbs: []string{"get"}},
			{Name: "exec", GVK: schema.GroupVersionKind{Version: "v1", Kind: "PodExecOptions"}, Verbs: []string{"create", "get"}},
		}},
	{GVK: schema.GroupVersionKind{Group: "batch", Version: "v1", Kind: "Job"}, Plural: "jobs", Namespaced: true,
		Verbs: []string{"get", "list"}},
}

// operationGVK reads an operation's x-kubernetes-group-version-kind as
// kubectl's field validation verifier does.
func operationGVK(ext spec.Extensions) map[string]string {
	var m map[string]string
	if err := ext.GetObject(GVKExtension, &m); err != nil {
		return nil
	}
	return m
}

func hasQuery(params []spec.Parameter, name string) bool {
	for _, p := range params {
		if p.Name == name && p.In == "query" {
			return true
		}
	}
	return false
}

func TestSpecV2Operations(t *testing.T) {
	sw, err := SpecV2(testResources)
	if err != nil {
		t.Fatal(err)
	}
	item, ok := sw.Paths.Paths["/api/v1/namespaces/{namespace}/pods/{name}"]
	if !ok || item.Patch == nil {
		t.Fatalf("no PATCH on a pod: %+v", item)
	}
	if g := operationGVK(item.Patch.Extensions); g["kind"] != "Pod" || g["version"] != "v1" || g["group"] != "" {
		t.Errorf("patch gvk %v", g)
	}
	if !hasQuery(item.Patch.Parameters, "fieldValidation") {
		t.Error("PATCH lacks fieldValidation: kubectl would validate client-side")
	}
	if item.Patch.ID != "patchCoreV1NamespacedPod" || item.Put.ID != "replaceCoreV1NamespacedPod" ||
		item.Get.ID != "readCoreV1NamespacedPod" || item.Delete.ID != "deleteCoreV1NamespacedPod" {
		t.Errorf("operation IDs %s %s %s %s", item.Patch.ID, item.Put.ID, item.Get.ID, item.Delete.ID)
	}
	if len(item.Parameters) != 2 {
		t.Errorf("path parameters %+v", item.Parameters)
	}
	if all := sw.Paths.Paths["/api/v1/pods"]; all.Get == nil || all.Get.ID != "listCoreV1PodForAllNamespaces" {
		t.Errorf("all-namespaces list %+v", all.Get)
	}
	exec := sw.Paths.Paths["/api/v1/namespaces/{namespace}/pods/{name}/exec"]
	if exec.Post == nil || exec.Post.ID != "connectPostCoreV1NamespacedPodExec" ||
		exec.Post.Extensions["x-kubernetes-action"] != "connect" {
		t.Errorf("exec %+v", exec.Post)
	}
	jobs := sw.Paths.Paths["/apis/batch/v1/namespaces/{namespace}/jobs/{name}"]
	if jobs.Get == nil || jobs.Patch != nil || jobs.Put != nil {
		t.Errorf("jobs serve only get: %+v", jobs)
	}
	if _, ok := sw.Paths.Paths["/apis/batch/v1/namespaces/{namespace}/jobs"]; !ok {
		t.Error("no jobs collection")
	}
}

func TestSpecV3HoldsOneGroupVersionAndWhatItReaches(t *testing.T) {
	doc, err := SpecV3(schema.GroupVersion{Version: "v1"}, testResources)
	if err != nil {
		t.Fatal(err)
	}
	for path := range doc.Paths.Paths {
		if strings.HasPrefix(path, "/apis/") {
			t.Errorf("v1 document has %s", path)
		}
	}
	patch := doc.Paths.Paths["/api/v1/namespaces/{namespace}/pods/{name}"].Patch
	if patch == nil || operationGVK(patch.Extensions)["kind"] != "Pod" {
		t.Fatalf("v3 patch %+v", patch)
	}
	found := false
	for _, p := range patch.Parameters {
		if p.Name == "fieldValidation" && p.In == "query" {
			found = true
		}
	}
	if !found {
		t.Error("v3 PATCH lacks fieldValidation")
	}
	for _, name := range []string{"io.k8s.api.core.v1.Pod", "io.k8s.api.core.v1.Container",
		"io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "io.k8s.apimachinery.pkg.api.resource.Quantity"} {
		if doc.Components.Schemas[name] == nil {
			t.Errorf("v3 lacks %s", name)
		}
	}
	if doc.Components.Schemas["io.k8s.api.batch.v1.Job"] != nil {
		t.Error("v1 document carries batch/v1 Job, which none of its paths reach")
	}
	ref := doc.Components.Schemas["io.k8s.api.core.v1.Pod"].Properties["spec"].AllOf
	if len(ref) == 0 || !strings.HasPrefix(ref[0].Ref.String(), "#/components/schemas/") {
		t.Errorf("Pod.spec refers %+v, want #/components/schemas/", doc.Components.Schemas["io.k8s.api.core.v1.Pod"].Properties["spec"])
	}
}
