package printer

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podrun/podrun/api"
)

func printed(t *testing.T, opts Options, objs ...any) string {
	t.Helper()
	var buf bytes.Buffer
	opts.Now = func() time.Time { return now }
	p, err := New(&buf, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) == 1 {
		err = p.PrintObject(objs[0])
	} else {
		err = p.PrintList(objs)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func samplePods() []any {
	web := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", CreationTimestamp: ago(5 * time.Second),
			Annotations: map[string]string{api.ManifestFileAnnotation: "/etc/podrun/manifests/web.yaml"}},
		Spec: spec([]string{"s:proxy"}, "app"),
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.88.0.4",
			Conditions:            []corev1.PodCondition{cond(corev1.PodInitialized, true), cond(corev1.PodReady, true)},
			InitContainerStatuses: []corev1.ContainerStatus{running("proxy", true)},
			ContainerStatuses:     []corev1.ContainerStatus{running("app", true)}},
	}
	batch := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "migrate-job-x7", Namespace: "tools", CreationTimestamp: ago(51 * time.Hour)},
		Spec:       spec([]string{"i1", "i2"}, "app"),
		Status: corev1.PodStatus{Phase: corev1.PodPending,
			InitContainerStatuses: []corev1.ContainerStatus{terminated("i1", 0, 0, "Completed"), running("i2", false)}},
	}
	return []any{web, batch}
}

func TestPodTable(t *testing.T) {
	got := printed(t, Options{}, samplePods()...)
	want := "" +
		"NAME             READY   STATUS     RESTARTS   AGE\n" +
		"web              2/2     Running    0          5s\n" +
		"migrate-job-x7   0/1     Init:1/2   0          2d3h\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}

	got = printed(t, Options{Format: Wide, AllNamespaces: true}, samplePods()...)
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if f := strings.Fields(lines[0]); strings.Join(f, " ") != "NAMESPACE NAME READY STATUS RESTARTS AGE IP NODE NOMINATED NODE READINESS GATES SOURCE" {
		t.Errorf("wide -A header %q", lines[0])
	}
	if f := strings.Fields(lines[1]); strings.Join(f, " ") != "default web 2/2 Running 0 5s 10.88.0.4 <none> <none> <none> file /etc/podrun/manifests/web.yaml" {
		t.Errorf("wide -A row %q", lines[1])
	}
	if f := strings.Fields(lines[2]); f[0] != "tools" || f[6] != "<none>" || f[len(f)-1] != "api" {
		t.Errorf("wide -A row %q", lines[2])
	}
}

func TestJSONAndYAML(t *testing.T) {
	pods := samplePods()
	one := printed(t, Options{Format: JSON}, pods[0])
	var pod corev1.Pod
	if err := json.Unmarshal([]byte(one), &pod); err != nil {
		t.Fatal(err)
	}
	if pod.Kind != "Pod" || pod.APIVersion != "v1" || pod.Status.PodIP != "10.88.0.4" {
		t.Errorf("single object: %s", one)
	}
	if !strings.HasPrefix(one, "{\n    \"kind\": \"Pod\"") {
		t.Errorf("json not indented kubectl-style: %.40q", one)
	}

	all := printed(t, Options{Format: JSON}, pods...)
	var l struct {
		APIVersion string       `json:"apiVersion"`
		Kind       string       `json:"kind"`
		Items      []corev1.Pod `json:"items"`
	}
	if err := json.Unmarshal([]byte(all), &l); err != nil {
		t.Fatal(err)
	}
	if l.Kind != "List" || l.APIVersion != "v1" || len(l.Items) != 2 || l.Items[1].Kind != "Pod" {
		t.Errorf("list: %+v", l)
	}

	y := printed(t, Options{Format: YAML}, pods[0])
	if !strings.Contains(y, "kind: Pod\n") || !strings.Contains(y, "podIP: 10.88.0.4\n") {
		t.Errorf("yaml:\n%s", y)
	}
	if got := printed(t, Options{Format: YAML}); !strings.Contains(got, "kind: List") {
		t.Errorf("empty yaml list: %q", got)
	}
}

func TestNameOutput(t *testing.T) {
	three := int32(3)
	objs := []any{
		samplePods()[0],
		&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "pi"}, Spec: batchv1.JobSpec{Completions: &three}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds"}},
	}
	got := printed(t, Options{Format: Name}, objs...)
	want := "pod/web\njob.batch/pi\nconfigmap/cfg\nsecret/creds\n"
	if got != want {
		t.Errorf("got %q want %q", got, want)
	}
}

func TestOtherTables(t *testing.T) {
	three, one := int32(3), int32(1)
	start, end := ago(10*time.Minute), ago(10*time.Minute-95*time.Second)
	complete := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "pi", CreationTimestamp: ago(10 * time.Minute)},
		Spec:       batchv1.JobSpec{Completions: &three},
		Status: batchv1.JobStatus{Succeeded: 3, StartTime: &start, CompletionTime: &end,
			Conditions: []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}},
	}
	runningJob := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "loader", CreationTimestamp: ago(time.Minute)},
		Spec:       batchv1.JobSpec{Parallelism: &one},
		Status:     batchv1.JobStatus{StartTime: &start},
	}
	cases := []struct {
		objs []any
		rows []string
	}{
		{[]any{complete, runningJob}, []string{
			"NAME STATUS COMPLETIONS DURATION AGE",
			"pi Complete 3/3 95s 10m",
			"loader Running 0/1 10m 60s"}},
		{[]any{&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg", CreationTimestamp: ago(3 * time.Second)},
			Data: map[string]string{"a": "1", "b": "2"}}}, []string{"NAME DATA AGE", "cfg 2 3s"}},
		{[]any{&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds", CreationTimestamp: ago(3 * time.Second)},
			Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"p": nil}}}, []string{"NAME TYPE DATA AGE", "creds Opaque 1 3s"}},
		{[]any{&corev1.Event{
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web"}, Type: "Warning", Reason: "BackOff",
			Message: "Back-off restarting failed container app", Count: 3,
			FirstTimestamp: ago(10 * time.Minute), LastTimestamp: ago(30 * time.Second)}},
			[]string{"LAST SEEN TYPE REASON OBJECT MESSAGE",
				"30s (x3 over 10m) Warning BackOff pod/web Back-off restarting failed container app"}},
		{[]any{&api.Image{Name: "docker.io/library/busybox:1.28", ID: "sha256:8c811b4aec35f259572d0f79207bc0678df4c736eeec50bc9fec37ed936a472a", Size: 1146369}},
			[]string{"NAME ID SIZE", "docker.io/library/busybox:1.28 8c811b4aec35 1.15MB"}},
	}
	for _, tc := range cases {
		got := strings.Split(strings.TrimSpace(printed(t, Options{}, tc.objs...)), "\n")
		if len(got) != len(tc.rows) {
			t.Errorf("got %q want %q", got, tc.rows)
			continue
		}
		for i := range got {
			if f := strings.Join(strings.Fields(got[i]), " "); f != tc.rows[i] {
				t.Errorf("row %d: got %q want %q", i, f, tc.rows[i])
			}
		}
	}
}

func TestWatchPrintsHeaderOnce(t *testing.T) {
	var buf bytes.Buffer
	p, _ := New(&buf, Options{Now: func() time.Time { return now }})
	for _, o := range samplePods() {
		if err := p.PrintWatched(o); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(buf.String(), "NAME"); n != 1 {
		t.Errorf("header printed %d times:\n%s", n, buf.String())
	}
}

func TestUnknownFormat(t *testing.T) {
	if _, err := New(&bytes.Buffer{}, Options{Format: "xml"}); err == nil {
		t.Error("format xml accepted")
	}
}

func TestHumanSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0B", 999: "999B", 1000: "1kB", 4857000: "4.86MB", 1_500_000_000: "1.5GB"} {
		if got := HumanSize(n); got != want {
			t.Errorf("HumanSize(%d) = %q want %q", n, got, want)
		}
	}
}

// TestEventTimesFallBack: an event's first and last times come from
// firstTimestamp and lastTimestamp, else from eventTime, else from the
// other timestamp.
func TestEventTimesFallBack(t *testing.T) {
	t1, t2, t3 := now.Add(-3*time.Minute), now.Add(-2*time.Minute), now.Add(-time.Minute)
	for _, tc := range []struct {
		name        string
		ev          corev1.Event
		first, last time.Time
	}{
		{"all set", corev1.Event{FirstTimestamp: metav1.NewTime(t1), EventTime: metav1.NewMicroTime(t2), LastTimestamp: metav1.NewTime(t3)}, t1, t3},
		{"eventTime only", corev1.Event{EventTime: metav1.NewMicroTime(t2)}, t2, t2},
		{"no lastTimestamp", corev1.Event{FirstTimestamp: metav1.NewTime(t1), EventTime: metav1.NewMicroTime(t2)}, t1, t2},
		{"no firstTimestamp", corev1.Event{EventTime: metav1.NewMicroTime(t2), LastTimestamp: metav1.NewTime(t3)}, t2, t3},
		{"firstTimestamp only", corev1.Event{FirstTimestamp: metav1.NewTime(t1)}, t1, t1},
		{"lastTimestamp only", corev1.Event{LastTimestamp: metav1.NewTime(t3)}, t3, t3},
		{"none", corev1.Event{}, time.Time{}, time.Time{}},
	} {
		if got := eventFirst(&tc.ev); !got.Equal(tc.first) {
			t.Errorf("%s: eventFirst = %v, want %v", tc.name, got, tc.first)
		}
		if got := eventLast(&tc.ev); !got.Equal(tc.last) {
			t.Errorf("%s: eventLast = %v, want %v", tc.name, got, tc.last)
		}
	}
}
