package api

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestPodWarningsNameTheField(t *testing.T) {
	spec := &corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "side", Stdin: true}},
		Containers: []corev1.Container{
			{Name: "shell", Stdin: true, TTY: true}, // a TTY keeps stdin open: fine
			{Name: "reader", Stdin: true},
			{Name: "plain"},
		},
	}
	got := PodWarnings(spec, field.NewPath("spec"))
	if len(got) != 2 {
		t.Fatalf("warnings %q, want two (side and reader)", got)
	}
	if !strings.HasPrefix(got[0], "spec.initContainers[0].stdin: ") || !strings.HasPrefix(got[1], "spec.containers[1].stdin: ") {
		t.Errorf("warnings do not name the fields: %q", got)
	}
	if w := PodWarnings(&corev1.PodSpec{Containers: []corev1.Container{{Name: "a"}}}, field.NewPath("spec")); len(w) != 0 {
		t.Errorf("warnings for a plain pod: %q", w)
	}
}

func TestWarningHeaderRoundTrip(t *testing.T) {
	text := `spec.containers[0].stdin: say "why", with quotes`
	h := WarningHeader(text)
	if !strings.HasPrefix(h, `299 - "`) {
		t.Fatalf("header %q", h)
	}
	got, ok := ParseWarningHeader(h)
	if !ok || got != text {
		t.Fatalf("parsed %q %v, want %q", got, ok, text)
	}
	for _, bad := range []string{"", "199 - \"x\"", "299 - unquoted", `299 "x"`} {
		if _, ok := ParseWarningHeader(bad); ok {
			t.Errorf("ParseWarningHeader(%q) accepted", bad)
		}
	}
}
