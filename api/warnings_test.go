package api

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

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

// BoundWarnings drops repeats and keeps the API server's bounds: all of
// short warnings, and past 4096 runes each cut to 256 until the total is
// reached again.
func TestBoundWarnings(t *testing.T) {
	if got := BoundWarnings([]string{"a", "", "b", "a"}); strings.Join(got, ",") != "a,b" {
		t.Fatalf("got %q", got)
	}
	long := make([]string, 100)
	for i := range long {
		long[i] = fmt.Sprintf("%03d", i) + strings.Repeat("é", 500)
	}
	got := BoundWarnings(long)
	total := 0
	for _, w := range got {
		if n := utf8.RuneCountInString(w); n > 256 {
			t.Fatalf("a warning of %d runes", n)
		}
		total += utf8.RuneCountInString(w)
	}
	if len(got) != 16 || total != 4096 || got[0][:3] != "000" {
		t.Fatalf("%d warnings, %d runes, first %q", len(got), total, got[0][:3])
	}
}
