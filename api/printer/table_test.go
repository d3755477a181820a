package printer

import (
	"fmt"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestTableOfIsWhatPodctlPrints renders each kind with TableOf and checks
// that kubectl's way of printing a Table (names in capitals, priority 1
// columns only with -o wide) gives podctl's own table, cell for cell.
func TestTableOfIsWhatPodctlPrints(t *testing.T) {
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "pi", CreationTimestamp: ago(time.Minute)}}
	job.Spec.Template.Spec.Containers = []corev1.Container{{Name: "c", Image: "busybox"}}
	event := &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "web.1"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web", FieldPath: "spec.containers{app}"},
		Type:           "Normal", Reason: "Started", Message: "Started container app", Count: 1,
		Source:         corev1.EventSource{Component: "podrund"},
		FirstTimestamp: ago(time.Minute), LastTimestamp: ago(30 * time.Second)}
	// The headers are kubectl's for these kinds, plain and -o wide.
	kinds := []struct {
		objs         []any
		header, wide string
	}{
		{samplePods(), "NAME|READY|STATUS|RESTARTS|AGE",
			"NAME|READY|STATUS|RESTARTS|AGE|IP|NODE|NOMINATED NODE|READINESS GATES|SOURCE"},
		{[]any{job}, "NAME|STATUS|COMPLETIONS|DURATION|AGE",
			"NAME|STATUS|COMPLETIONS|DURATION|AGE|CONTAINERS|IMAGES|SELECTOR|SOURCE"},
		{[]any{&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg"}, Data: map[string]string{"a": "1"}}},
			"NAME|DATA|AGE", "NAME|DATA|AGE"},
		{[]any{&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s"}, Type: corev1.SecretTypeOpaque}},
			"NAME|TYPE|DATA|AGE", "NAME|TYPE|DATA|AGE"},
		{[]any{event}, "LAST SEEN|TYPE|REASON|OBJECT|MESSAGE",
			"LAST SEEN|TYPE|REASON|OBJECT|SUBOBJECT|SOURCE|MESSAGE|FIRST SEEN|COUNT|NAME"},
	}
	for _, k := range kinds {
		objs := k.objs
		table, err := TableOf(objs, nil, now)
		if err != nil {
			t.Fatal(err)
		}
		for _, wide := range []bool{false, true} {
			var lines []string
			var header []string
			for _, c := range table.ColumnDefinitions {
				if wide || c.Priority == 0 {
					header = append(header, strings.ToUpper(c.Name))
				}
			}
			lines = append(lines, strings.Join(header, "|"))
			if wantHeader := map[bool]string{false: k.header, true: k.wide}[wide]; lines[0] != wantHeader {
				t.Errorf("%T wide=%v: header %s, want %s", objs[0], wide, lines[0], wantHeader)
			}
			for _, row := range table.Rows {
				var cells []string
				for i, c := range row.Cells {
					if wide || table.ColumnDefinitions[i].Priority == 0 {
						cells = append(cells, fmt.Sprint(c))
					}
				}
				lines = append(lines, strings.Join(cells, "|"))
			}
			format := Table
			if wide {
				format = Wide
			}
			want := podctlCells(printed(t, Options{Format: format}, objs...))
			if _, isEvent := objs[0].(*corev1.Event); isEvent && !wide {
				// podctl's LAST SEEN adds "(xN over ...)" to a repeated
				// event; with Count 1 the two agree.
				want = strings.ReplaceAll(want, " (x1 over 1m)", "")
			}
			if got := strings.Join(lines, "\n"); got != want {
				t.Errorf("%T wide=%v:\ntable:\n%s\npodctl:\n%s", objs[0], wide, got, want)
			}
		}
	}
	if _, err := TableOf(nil, &corev1.Pod{}, now); err != nil {
		t.Errorf("empty pod table: %v", err)
	}
	if _, err := TableOf(nil, &corev1.Node{}, now); err == nil {
		t.Error("a Node table was made; there are no Node columns")
	}
}

// podctlCells splits podctl's padded table into cells by the header's
// column starts.
func podctlCells(out string) string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	var starts []int
	h := lines[0]
	for i := 0; i < len(h); i++ {
		if h[i] != ' ' && (i == 0 || (i >= 3 && h[i-3:i] == "   ")) {
			starts = append(starts, i)
		}
	}
	var res []string
	for _, l := range lines {
		var cells []string
		for k, s := range starts {
			end := len(l)
			if k+1 < len(starts) && starts[k+1] < len(l) {
				end = starts[k+1]
			}
			if s > len(l) {
				cells = append(cells, "")
				continue
			}
			cells = append(cells, strings.TrimSpace(l[s:end]))
		}
		res = append(res, strings.Join(cells, "|"))
	}
	return strings.Join(res, "\n")
}
