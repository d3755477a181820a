package openapi

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"sync"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/kube-openapi/pkg/builder"
	"k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/util"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// GVKExtension is the vendor extension that ties a definition to the
// group/version/kinds it is served as; kubectl explain and server-side
// apply find a kind's schema by it.
const GVKExtension = "x-kubernetes-group-version-kind"

// Scheme holds the kinds podrund's OpenAPI tags with GVKExtension: the
// served groups (core v1, batch v1) with the meta kinds registered into
// each, as the API server's scheme has them.
var Scheme = newScheme()

func newScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, batchv1.AddToScheme} {
		if err := add(s); err != nil {
			panic(fmt.Sprintf("openapi: register the served kinds: %v", err))
		}
	}
	return s
}

// Name is the REST-friendly definition name of the Go type of obj, the one
// the API server uses ("io.k8s.api.core.v1.Pod").
func Name(obj any) string {
	if m, ok := obj.(interface{ OpenAPIModelName() string }); ok {
		return m.OpenAPIModelName()
	}
	t := reflect.TypeOf(obj)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return util.ToRESTFriendlyName(t.PkgPath() + "." + t.Name())
}

// NameOf is the definition name of the type registered as gvk in Scheme,
// or "" when podrund does not serve that kind.
func NameOf(gvk schema.GroupVersionKind) string {
	t, ok := Scheme.AllKnownTypes()[gvk]
	if !ok {
		return ""
	}
	return Name(reflect.New(t).Interface())
}

// namer gives each definition its name and, for the kinds in Scheme, the
// GVKExtension listing every group/version/kind the type is served as
// (sorted, as the API server's DefinitionNamer does).
type namer struct {
	gvks map[string][]schema.GroupVersionKind
}

func newNamer() *namer {
	n := &namer{gvks: map[string][]schema.GroupVersionKind{}}
	for gvk, t := range Scheme.AllKnownTypes() {
		if gvk.Version == runtime.APIVersionInternal {
			continue
		}
		name := Name(reflect.New(t).Interface())
		n.gvks[name] = append(n.gvks[name], gvk)
	}
	for _, list := range n.gvks {
		sort.Slice(list, func(i, j int) bool {
			a, b := list[i], list[j]
			if a.Group != b.Group {
				return a.Group < b.Group
			}
			if a.Version != b.Version {
				return a.Version < b.Version
			}
			return a.Kind < b.Kind
		})
	}
	return n
}

// definitionName is common.Config.GetDefinitionName: the generated names
// are already REST-friendly; only the extension is added.
func (n *namer) definitionName(name string) (string, spec.Extensions) {
	list := n.gvks[name]
	if len(list) == 0 {
		return name, nil
	}
	ext := make([]any, 0, len(list))
	for _, gvk := range list {
		ext = append(ext, map[string]any{"group": gvk.Group, "version": gvk.Version, "kind": gvk.Kind})
	}
	return name, spec.Extensions{GVKExtension: ext}
}

// Config is the kube-openapi builder configuration over the definitions
// get returns (openapi-gen's): title, version and naming as the API
// server's.
func Config(get common.GetOpenAPIDefinitions) *common.Config {
	return &common.Config{
		Info:              info(),
		GetDefinitions:    get,
		GetDefinitionName: newNamer().definitionName,
	}
}

// info is the documents' title and version, the API server's.
func info() *spec.Info {
	return &spec.Info{InfoProps: spec.InfoProps{Title: "Kubernetes", Version: "v1.37.2"}}
}

// servedKinds are the root types whose definitions (with everything they
// reference) make up the documents: every kind of Scheme.
func servedKinds() []string {
	seen := map[string]bool{}
	var names []string
	for gvk, t := range Scheme.AllKnownTypes() {
		if gvk.Version == runtime.APIVersionInternal {
			continue
		}
		name := Name(reflect.New(t).Interface())
		if !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	}
	// The error body of every operation and the list metadata.
	for _, extra := range []any{&metav1.Status{}, &metav1.APIResourceList{}} {
		if name := Name(extra); !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// definitionsJSON are the definitions as BuildDefinitions makes them from
// openapi-gen's code, encoded by EncodeDefinitions at go generate time.
// podrund links this file, about 0.5 MB, instead of the generated code:
// that code is ~0.8 MiB of machine code, its descriptions and tables, in
// every podrund's resident pages, to produce the same data once.
//
//go:embed definitions.json
var definitionsJSON []byte

// Definitions are the v2 definitions of every served kind and the types
// they reference, keyed by REST-friendly name, tagged with GVKExtension.
// Each call decodes them anew and nothing here keeps them: they are about
// 1.4 MiB of live heap, wanted only while a document or the type
// converter is built (both are kept in their own, smaller forms), so
// keeping them would hold that heap for the daemon's life.
func Definitions() (spec.Definitions, error) {
	var defs spec.Definitions
	if err := json.Unmarshal(definitionsJSON, &defs); err != nil {
		return nil, fmt.Errorf("decode the OpenAPI definitions: %w", err)
	}
	return defs, nil
}

// BuildDefinitions builds the definitions of the served kinds and their
// closure from openapi-gen's get (daemon/openapi/internal/generated).
func BuildDefinitions(get common.GetOpenAPIDefinitions) (spec.Definitions, error) {
	sw, err := builder.BuildOpenAPIDefinitionsForResources(Config(get), servedKinds()...)
	if err != nil {
		return nil, fmt.Errorf("build the OpenAPI definitions: %w", err)
	}
	return sw.Definitions, nil
}

// EncodeDefinitions is the form definitions.json keeps defs in: one JSON
// object, one definition a line in name order, so that a regeneration's
// diff shows the definitions that changed.
func EncodeDefinitions(defs spec.Definitions) ([]byte, error) {
	names := make([]string, 0, len(defs))
	for name := range defs {
		names = append(names, name)
	}
	sort.Strings(names)
	var b bytes.Buffer
	b.WriteString("{\n")
	for i, name := range names {
		key, err := json.Marshal(name)
		if err != nil {
			return nil, err
		}
		value, err := json.Marshal(defs[name])
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", name, err)
		}
		b.Write(key)
		b.WriteByte(':')
		b.Write(value)
		if i < len(names)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("}\n")
	return b.Bytes(), nil
}

var (
	converterOnce sync.Once
	converter     managedfields.TypeConverter
	converterErr  error
)

// TypeConverter converts the served kinds to and from structured-merge-diff
// typed values, for server-side apply's managed fields. It is built on the
// first call (the first write that records managed fields: ~30 ms to
// decode the definitions) and shared: it is immutable. It keeps only
// structured-merge-diff's schema (about 0.3 MiB), not the definitions it
// is built from.
func TypeConverter() (managedfields.TypeConverter, error) {
	converterOnce.Do(func() { converter, converterErr = newTypeConverter() })
	return converter, converterErr
}

func newTypeConverter() (managedfields.TypeConverter, error) {
	defs, err := Definitions()
	if err != nil {
		return nil, err
	}
	models := make(map[string]*spec.Schema, len(defs))
	for name := range defs {
		s := defs[name]
		models[name] = &s
	}
	return managedfields.NewTypeConverter(models, false)
}
