package api

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode: no input may panic Decode, Default or Validate ("never
// panic on bad input"); errors must be *StatusError.
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
			}
		}
	})
}
