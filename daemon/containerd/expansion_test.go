package containerd

import (
	"slices"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	corev1 "k8s.io/api/core/v1"
)

func TestProcessArgsCommandSemantics(t *testing.T) {
	img := ocispec.ImageConfig{Entrypoint: []string{"/ep"}, Cmd: []string{"cmd1", "cmd2"}}
	lookup := mappingOf([]string{"X=ex"})
	for _, tc := range []struct {
		name          string
		command, args []string
		img           ocispec.ImageConfig
		want          []string
		wantErr       bool
	}{
		{name: "image defaults", img: img, want: []string{"/ep", "cmd1", "cmd2"}},
		{name: "args replace CMD", img: img, args: []string{"a", "$(X)"}, want: []string{"/ep", "a", "ex"}},
		{name: "command replaces ENTRYPOINT and drops CMD", img: img, command: []string{"/c"}, want: []string{"/c"}},
		{name: "command and args", img: img, command: []string{"/c", "$(X)"}, args: []string{"$$(X)"}, want: []string{"/c", "ex", "$(X)"}},
		{name: "CMD only image with args", img: ocispec.ImageConfig{Cmd: []string{"sh"}}, args: []string{"-c", "true"}, want: []string{"-c", "true"}},
		{name: "nothing to run", img: ocispec.ImageConfig{}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := processArgs(&corev1.Container{Command: tc.command, Args: tc.args}, tc.img, lookup)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("args = %q, want %q", got, tc.want)
			}
		})
	}
}
