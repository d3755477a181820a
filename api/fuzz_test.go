package api

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
)

// FuzzDecode: no input may panic Decode, Default or Validate ("never
// panic on bad input"); errors must be *StatusError. An object that
// validates must survive a round trip (encoded as JSON, decoded,
// defaulted again: the same object, still valid; so defaulting is
// idempotent too), and carries no value that would add a line to the pod's
// /etc/hosts or resolv.conf or a sysctl, nor an item path into the atomic
// writer's "..*" names.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(seedDir, "*.yaml"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(multiDoc))
	f.Add([]byte(`{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"batch/v1","kind":"Job","spec":{"completionMode":"Indexed","successPolicy":{"rules":[{"succeededIndexes":"0-3"}]}}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := Decode(data)
		if err != nil {
			if _, ok := err.(*StatusError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		for _, o := range objs {
			Default(o)
			if err := Validate(o); err != nil {
				if _, ok := err.(*StatusError); !ok {
					t.Fatalf("validate error of type %T", err)
				}
				continue
			}
			checkRoundTrip(t, o)
			if spec := podSpecOf(o); spec != nil {
				checkHostBound(t, spec)
			}
		}
	})
}

func checkRoundTrip(t *testing.T, o runtime.Object) {
	t.Helper()
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatalf("encode a valid %T: %v", o, err)
	}
	again, err := Decode(b)
	if err != nil || len(again) != 1 {
		t.Fatalf("decode of a valid object's JSON: %d objects, %v\n%.2000s", len(again), err, b)
	}
	Default(again[0])
	if err := Validate(again[0]); err != nil {
		t.Fatalf("valid object invalid after a round trip: %v\n%.2000s", err, b)
	}
	if !apiequality.Semantic.DeepEqual(o, again[0]) {
		b2, _ := json.Marshal(again[0])
		t.Fatalf("round trip changed the object:\n%.2000s\n%.2000s", b, b2)
	}
}

func podSpecOf(o runtime.Object) *corev1.PodSpec {
	switch v := o.(type) {
	case *corev1.Pod:
		return &v.Spec
	case *batchv1.Job:
		return &v.Spec.Template.Spec
	}
	return nil
}

// checkHostBound asserts what validation promises the sandbox and the
// volume writer.
func checkHostBound(t *testing.T, spec *corev1.PodSpec) {
	t.Helper()
	noBreak := func(what, v string) {
		if strings.ContainsAny(v, "\n\r\x00") {
			t.Fatalf("valid pod has a line break or NUL in %s: %q", what, v)
		}
	}
	for _, a := range spec.HostAliases {
		noBreak("hostAliases ip", a.IP)
		for _, h := range a.Hostnames {
			noBreak("hostAliases hostname", h)
		}
	}
	if c := spec.DNSConfig; c != nil {
		for _, v := range append(append([]string(nil), c.Nameservers...), c.Searches...) {
			noBreak("dnsConfig", v)
		}
		for _, o := range c.Options {
			noBreak("dnsConfig option", o.Name)
			if o.Value != nil {
				noBreak("dnsConfig option", *o.Value)
			}
		}
	}
	if sc := spec.SecurityContext; sc != nil {
		for _, s := range sc.Sysctls {
			noBreak("sysctl", s.Name)
			noBreak("sysctl", s.Value)
		}
	}
	itemPath := func(p string) {
		if p == "" || strings.HasPrefix(p, "/") || strings.HasPrefix(p, "..") {
			t.Fatalf("valid pod has item path %q", p)
		}
		for _, el := range strings.Split(p, "/") {
			if el == ".." {
				t.Fatalf("valid pod has item path %q", p)
			}
		}
	}
	keyPaths := func(items []corev1.KeyToPath) {
		for _, it := range items {
			itemPath(it.Path)
		}
	}
	downward := func(items []corev1.DownwardAPIVolumeFile) {
		for _, it := range items {
			itemPath(it.Path)
		}
	}
	for _, v := range spec.Volumes {
		switch {
		case v.ConfigMap != nil:
			keyPaths(v.ConfigMap.Items)
		case v.Secret != nil:
			keyPaths(v.Secret.Items)
		case v.DownwardAPI != nil:
			downward(v.DownwardAPI.Items)
		case v.Projected != nil:
			for _, s := range v.Projected.Sources {
				if s.ConfigMap != nil {
					keyPaths(s.ConfigMap.Items)
				}
				if s.Secret != nil {
					keyPaths(s.Secret.Items)
				}
				if s.DownwardAPI != nil {
					downward(s.DownwardAPI.Items)
				}
			}
		}
	}
}
