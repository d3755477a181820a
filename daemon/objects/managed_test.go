package objects

import (
	"context"
	"net/url"
	"strconv"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func applyRequest(t *testing.T, manager string, force bool, body string) *PatchRequest {
	t.Helper()
	q := url.Values{"fieldManager": {manager}}
	if force {
		q.Set("force", "true")
	}
	pr, err := NewPatchRequest(q, types.ApplyYAMLPatchType, []byte(body), "kubectl/v1.37.2")
	if err != nil {
		t.Fatal(err)
	}
	return pr
}

func managers(m *metav1.ObjectMeta) map[string]metav1.ManagedFieldsOperationType {
	out := map[string]metav1.ManagedFieldsOperationType{}
	for _, e := range m.ManagedFields {
		out[e.Manager] = e.Operation
	}
	return out
}

func TestServerSideApplyOwnsAndConflicts(t *testing.T) {
	b := newTestObjects(t, 16)
	res := b.ConfigMapResource()
	ctx := context.Background()
	cfg := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: s, namespace: default}\ndata: {k: one}\n"
	created, isNew, err := res.Patch(ctx, "default", "s", applyRequest(t, "alice", false, cfg))
	if err != nil || !isNew || created.Data["k"] != "one" || managers(&created.ObjectMeta)["alice"] != metav1.ManagedFieldsOperationApply {
		t.Fatalf("apply-create: %v new=%v %+v", err, isNew, created.ObjectMeta.ManagedFields)
	}
	// Bob applies another value for alice's field: the API server's conflict.
	bob := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: s, namespace: default}\ndata: {k: two}\n"
	_, _, err = res.Patch(ctx, "default", "s", applyRequest(t, "bob", false, bob))
	wantStatus(t, "conflicting apply", err, 409, metav1.StatusReasonConflict, `Apply failed with 1 conflict: conflict with "alice": .data.k`)
	// Forced, bob takes the field.
	forced, _, err := res.Patch(ctx, "default", "s", applyRequest(t, "bob", true, bob))
	if err != nil || forced.Data["k"] != "two" {
		t.Fatalf("forced apply: %v %+v", err, forced.Data)
	}
	// Alice re-applying without the field no longer removes it: bob owns it.
	_, _, err = res.Patch(ctx, "default", "s", applyRequest(t, "alice", false,
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: s, namespace: default, labels: {a: b}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := res.Get(ctx, "default", "s")
	if got.Data["k"] != "two" || got.Labels["a"] != "b" {
		t.Fatalf("after alice's second apply: %+v %+v", got.Data, got.Labels)
	}
	// A plain update is recorded under its manager (the user agent's name).
	got.Data["x"] = "y"
	opts, _ := UpdateOptions(url.Values{}, "podctl/v1 (linux)")
	upd, err := res.Update(ctx, got, opts)
	if err != nil || managers(&upd.ObjectMeta)["podctl"] != metav1.ManagedFieldsOperationUpdate {
		t.Fatalf("update: %v %+v", err, upd.ManagedFields)
	}
	// fieldManager is required for apply, force only there.
	if _, err := NewPatchRequest(url.Values{}, types.ApplyYAMLPatchType, []byte(cfg), "kubectl"); err == nil {
		t.Fatal("apply without a fieldManager was accepted")
	}
	if _, err := NewPatchRequest(url.Values{"force": {"true"}}, types.MergePatchType, []byte(`{}`), "kubectl"); err == nil {
		t.Fatal("force on a merge patch was accepted")
	}
}

func TestServerSideApplyOfAPodCreatesAndConflicts(t *testing.T) {
	b := newTestObjects(t, 16)
	ctx := context.Background()
	pod := `apiVersion: v1
kind: Pod
metadata: {name: sp, namespace: default, labels: {app: a}}
spec:
  containers: [{name: c, image: "busybox:1.28"}]
`
	p, isNew, err := b.PatchPod(ctx, "default", "sp", applyRequest(t, "kubectl", false, pod))
	if err != nil || !isNew || p.UID == "" || managers(&p.ObjectMeta)["kubectl"] != metav1.ManagedFieldsOperationApply {
		t.Fatalf("apply-create pod: %v new=%v %+v", err, isNew, p.ObjectMeta)
	}
	again, isNew, err := b.PatchPod(ctx, "default", "sp", applyRequest(t, "kubectl", false, pod))
	if err != nil || isNew || again.ResourceVersion != p.ResourceVersion {
		t.Fatalf("re-apply: %v new=%v rv %s -> %s, want unchanged", err, isNew, p.ResourceVersion, again.ResourceVersion)
	}
	other := `apiVersion: v1
kind: Pod
metadata: {name: sp, namespace: default, labels: {app: b}}
`
	_, _, err = b.PatchPod(ctx, "default", "sp", applyRequest(t, "other", false, other))
	wantStatus(t, "conflicting pod apply", err, 409, metav1.StatusReasonConflict, `conflict with "kubectl"`)
}

// BenchmarkUpdateManaged is the cost of recording managed fields on a
// configmap update, against BenchmarkUpdateUnmanaged.
func BenchmarkUpdateManaged(b *testing.B)   { benchmarkUpdate(b, "podctl") }
func BenchmarkUpdateUnmanaged(b *testing.B) { benchmarkUpdate(b, "") }

func benchmarkUpdate(b *testing.B, manager string) {
	objs := newTestObjects(b, 16)
	res := objs.ConfigMapResource()
	ctx := context.Background()
	cur, err := res.Create(ctx, configMap("bench", nil, "0"), WriteOptions{FieldManager: manager})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cur.Data["k"] = strconv.Itoa(i)
		cur.ResourceVersion = ""
		if cur, err = res.Update(ctx, cur, WriteOptions{FieldManager: manager}); err != nil {
			b.Fatal(err)
		}
	}
}
