package objects

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// drain takes what is queued for sub now, as "TYPE name=data".
func drain(t *testing.T, sub *Subscription) []string {
	t.Helper()
	var out []string
	for {
		select {
		case c := <-sub.Changes():
			cm := c.Object.(*corev1.ConfigMap)
			out = append(out, fmt.Sprintf("%s %s=%s", c.Type, cm.Name, cm.Data["k"]))
		case <-time.After(50 * time.Millisecond):
			return out
		}
	}
}

func rvOf(t *testing.T, m metav1.Object) uint64 {
	t.Helper()
	rv, err := strconv.ParseUint(m.GetResourceVersion(), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return rv
}

func TestWatchFromVersionSendsOnlyLaterChanges(t *testing.T) {
	b := newTestObjects(t, 16)
	res := b.ConfigMapResource()
	mustCreate(t, res, configMap("a", nil, "1"))
	at := mustCreate(t, res, configMap("b", nil, "1"))
	mustCreate(t, res, configMap("c", nil, "1"))
	cur, _ := res.Get(context.Background(), "default", "a")
	cur.Data["k"] = "2"
	if _, err := res.Update(context.Background(), cur, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	req := listRequest(t, BucketConfigMaps, "watch=true&resourceVersion="+at.ResourceVersion)
	plan, err := req.WatchPlan()
	if err != nil || plan.ListFirst || plan.From != rvOf(t, at) {
		t.Fatalf("plan %+v, %v: want a watch from %s without a list", plan, err, at.ResourceVersion)
	}
	sub, err := b.Subscribe(req, plan)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Unwatch(sub)
	mustCreate(t, res, configMap("d", nil, "1"))
	got := fmt.Sprint(drain(t, sub))
	if want := "[ADDED c=1 MODIFIED a=2 ADDED d=1]"; got != want {
		t.Fatalf("watch from %s got %s, want %s", at.ResourceVersion, got, want)
	}
}

func TestWatchFromTooOldVersionIsExpired(t *testing.T) {
	b := newTestObjects(t, 2)
	res := b.ConfigMapResource()
	first := mustCreate(t, res, configMap("a", nil, "1"))
	for _, n := range []string{"b", "c", "d"} {
		mustCreate(t, res, configMap(n, nil, "1"))
	}
	req := listRequest(t, BucketConfigMaps, "watch=true&resourceVersion="+first.ResourceVersion)
	plan, _ := req.WatchPlan()
	_, err := b.Subscribe(req, plan)
	wantStatus(t, "watch from a forgotten version", err, 410, metav1.StatusReasonExpired, "too old resource version: "+first.ResourceVersion)
	// A continue token from before the history is expired too.
	page, err := SelectPage(b, listRequest(t, BucketConfigMaps, "limit=1"), []*corev1.ConfigMap{configMap("a", nil, ""), configMap("b", nil, "")}, rvOf(t, first))
	if err != nil || page.Meta.Continue == "" {
		t.Fatalf("page %+v, %v", page.Meta, err)
	}
	_, err = SelectPage(b, listRequest(t, BucketConfigMaps, "limit=1&continue="+page.Meta.Continue), []*corev1.ConfigMap{}, 99)
	wantStatus(t, "continue from a forgotten version", err, 410, metav1.StatusReasonExpired, "continue parameter is too old")
}

func TestWatchWithSelectorSeesTransitions(t *testing.T) {
	b := newTestObjects(t, 16)
	res := b.ConfigMapResource()
	ctx := context.Background()
	sub, err := b.Subscribe(listRequest(t, BucketConfigMaps, "watch=true&labelSelector=app%3Dweb"), WatchPlan{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Unwatch(sub)
	cm := mustCreate(t, res, configMap("x", map[string]string{"app": "db"}, "1"))
	relabel := func(app, data string) {
		cur, _ := res.Get(ctx, "default", "x")
		cur.Labels["app"], cur.Data["k"] = app, data
		if _, err := res.Update(ctx, cur, WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	relabel("web", "2") // starts matching
	relabel("web", "3") // still matches
	relabel("db", "4")  // stops matching: DELETED with its last matching state
	relabel("db", "5")  // not seen
	if _, err := res.Delete(ctx, "default", cm.Name, &metav1.DeleteOptions{}, false); err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(drain(t, sub))
	if want := "[ADDED x=2 MODIFIED x=3 DELETED x=3]"; got != want {
		t.Fatalf("selector watch got %s, want %s", got, want)
	}
}

func TestSelectPage(t *testing.T) {
	b := newTestObjects(t, 16)
	items := []*corev1.ConfigMap{configMap("a", map[string]string{"t": "1"}, ""), configMap("b", nil, ""),
		configMap("c", map[string]string{"t": "1"}, ""), configMap("d", map[string]string{"t": "1"}, "")}
	names := func(p Page[*corev1.ConfigMap]) string {
		s := ""
		for _, it := range p.Items {
			s += it.Name
		}
		return s
	}
	p1, err := SelectPage(b, listRequest(t, BucketConfigMaps, "limit=2"), items, 7)
	if err != nil || names(p1) != "ab" || p1.Meta.Continue == "" || *p1.Meta.RemainingItemCount != 2 || p1.Meta.ResourceVersion != "7" {
		t.Fatalf("first page %s %+v %v", names(p1), p1.Meta, err)
	}
	p2, err := SelectPage(b, listRequest(t, BucketConfigMaps, "limit=2&continue="+p1.Meta.Continue), items, 9)
	if err != nil || names(p2) != "cd" || p2.Meta.Continue != "" || p2.Meta.ResourceVersion != "7" {
		t.Fatalf("second page %s %+v %v: want c, d at the first page's version", names(p2), p2.Meta, err)
	}
	sel, err := SelectPage(b, listRequest(t, BucketConfigMaps, "labelSelector=t%3D1,t+notin+(2)"), items, 7)
	if err != nil || names(sel) != "acd" {
		t.Fatalf("label selector kept %s, %v", names(sel), err)
	}
	for _, bad := range []string{"!!!", "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MH0"} {
		_, err = SelectPage(b, listRequest(t, BucketConfigMaps, "continue="+bad), items, 7)
		wantStatus(t, "continue "+bad, err, 400, metav1.StatusReasonBadRequest, "invalid continue token: continue key is not valid")
	}
}

func TestListRequestErrors(t *testing.T) {
	for query, want := range map[string]string{
		"labelSelector=a+in+(":                     "unable to parse requirement",
		"fieldSelector=spec.hostname%3Dx":          "field label not supported: spec.hostname",
		"watch=true&sendInitialEvents=true":        "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
		"sendInitialEvents=true&resourceVersion=1": "sendInitialEvents is forbidden for list",
		"watch=true&resourceVersionMatch=Exact":    "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
		"limit=x":                                  "invalid syntax",
	} {
		q, _ := url.ParseQuery(query)
		_, err := NewListRequest(BucketPods, "default", q)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error containing %q", query, err, want)
		}
	}
}

// TestVersionFromTheFutureIsTooLarge: a version the store has not reached
// (kept by a client across a store that started over) is the API
// server's 504 with the ResourceVersionTooLarge cause, for a watch and a
// list, so client-go lists afresh instead of waiting.
func TestVersionFromTheFutureIsTooLarge(t *testing.T) {
	b := newTestObjects(t, 16)
	cm := mustCreate(t, b.ConfigMapResource(), configMap("a", nil, "1"))
	future := strconv.FormatUint(rvOf(t, cm)+100, 10)
	req := listRequest(t, BucketConfigMaps, "watch=true&resourceVersion="+future)
	plan, _ := req.WatchPlan()
	_, err := b.Subscribe(req, plan)
	wantStatus(t, "watch from the future", err, 504, metav1.StatusReasonTimeout, "Too large resource version: "+future)
	if !apierrors.HasStatusCause(err, metav1.CauseTypeResourceVersionTooLarge) {
		t.Fatalf("no ResourceVersionTooLarge cause: %v", err)
	}
	_, err = SelectPage(b, listRequest(t, BucketConfigMaps, "resourceVersion="+future), []*corev1.ConfigMap{cm}, rvOf(t, cm))
	wantStatus(t, "list from the future", err, 504, metav1.StatusReasonTimeout, "Too large resource version")
	// The current version itself is fine.
	req = listRequest(t, BucketConfigMaps, "watch=true&resourceVersion="+cm.ResourceVersion)
	plan, _ = req.WatchPlan()
	sub, err := b.Subscribe(req, plan)
	if err != nil {
		t.Fatal(err)
	}
	b.Unwatch(sub)
}
