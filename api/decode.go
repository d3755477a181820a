package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Kinds podrun accepts.
var (
	PodGVK       = corev1.SchemeGroupVersion.WithKind("Pod")
	ConfigMapGVK = corev1.SchemeGroupVersion.WithKind("ConfigMap")
	SecretGVK    = corev1.SchemeGroupVersion.WithKind("Secret")
	JobGVK       = batchv1.SchemeGroupVersion.WithKind("Job")
)

// maxListDepth bounds List nesting so a hostile body cannot recurse forever.
const maxListDepth = 4

// Format is how a body or file is encoded.
type Format int

const (
	// FormatAuto is JSON when the bytes are a valid JSON stream, else
	// YAML: a flow-style YAML document (KYAML, as Kubernetes' own examples
	// are written: unquoted keys, trailing commas, comments) starts with
	// `{` as JSON does but is no JSON.
	FormatAuto Format = iota
	// FormatJSON is concatenated JSON objects only.
	FormatJSON
	// FormatYAML is `---`-separated YAML documents, block or flow style.
	FormatYAML
)

// FormatOfContentType maps a request's Content-Type to the body's format,
// as the API server does: application/json is JSON, application/yaml
// (and the older application/x-yaml, text/yaml) is YAML, no Content-Type
// at all is sniffed; anything else is a 415 UnsupportedMediaType.
func FormatOfContentType(contentType string) (Format, error) {
	if strings.TrimSpace(contentType) == "" {
		return FormatAuto, nil
	}
	mediaType, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return 0, NewUnsupportedMediaType(fmt.Sprintf("Content-Type %q: %v", contentType, err))
	}
	switch mediaType {
	case "application/json":
		return FormatJSON, nil
	case "application/yaml", "application/x-yaml", "text/yaml":
		return FormatYAML, nil
	}
	return 0, NewUnsupportedMediaType(fmt.Sprintf(
		"the body's Content-Type %q is not supported: send application/json or application/yaml", mediaType))
}

// Decode reads every object of a multi-document YAML or JSON stream
// (`---`-separated YAML documents, or concatenated JSON objects). A
// `kind: List` (or PodList, JobList, ...) is expanded into its items and
// empty documents are skipped. Decoding is strict like the API server's
// fieldValidation=Strict: an unknown or duplicated field is an error that
// names it with its path. Errors are *StatusError (400 BadRequest).
func Decode(data []byte) ([]runtime.Object, error) {
	return DecodeAs(data, FormatAuto)
}

// DecodeAs is Decode of a body known to be in format f.
func DecodeAs(data []byte, f Format) ([]runtime.Object, error) {
	objs, _, err := DecodeWith(data, f, FieldValidationStrict)
	return objs, err
}

// DecodeWith is DecodeAs under the fieldValidation directive v: under
// Strict an unknown or duplicated field is a 400, under Warn it is
// returned as one warning each (`unknown field "spec.foo"`, the text the
// API server puts in its Warning headers), under Ignore it is dropped.
func DecodeWith(data []byte, f Format, v FieldValidation) ([]runtime.Object, []string, error) {
	return (&decoder{validation: v}).decode(data, f)
}

func (d *decoder) decode(data []byte, f Format) ([]runtime.Object, []string, error) {
	docs, err := d.splitDocuments(data, f)
	if err != nil {
		return nil, nil, err
	}
	var out []runtime.Object
	for i, raw := range docs {
		objs, err := d.decodeDocument(raw, fmt.Sprintf("document %d", i), 0)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, objs...)
	}
	return out, d.warnings, nil
}

// DecodeObject decodes a body that must hold exactly one object (a REST
// POST or PUT).
func DecodeObject(data []byte) (runtime.Object, error) {
	return DecodeObjectAs(data, FormatAuto)
}

// DecodeObjectAs is DecodeObject of a body known to be in format f.
func DecodeObjectAs(data []byte, f Format) (runtime.Object, error) {
	obj, _, err := DecodeObjectWith(data, f, FieldValidationStrict)
	return obj, err
}

// DecodeObjectWith is DecodeObjectAs under the fieldValidation directive
// v, with the warnings DecodeWith returns.
//
// A strict decoding error says only what the API server says
// (`strict decoding error: unknown field "spec.foo"`): one body has no
// documents to tell apart.
func DecodeObjectWith(data []byte, f Format, v FieldValidation) (runtime.Object, []string, error) {
	objs, warnings, err := (&decoder{validation: v, oneObject: true}).decode(data, f)
	if err != nil {
		return nil, nil, err
	}
	if len(objs) != 1 {
		return nil, nil, badRequestf("the request body must hold exactly one object, found %d", len(objs))
	}
	return objs[0], warnings, nil
}

// decoder is one decoding of a body: its fieldValidation directive and
// the warnings it has gathered under Warn.
type decoder struct {
	validation FieldValidation
	warnings   []string
	// oneObject leaves the document's place out of strict errors.
	oneObject bool
}

// splitDocuments returns the non-empty documents of data, each converted to
// JSON.
func (d *decoder) splitDocuments(data []byte, f Format) ([]json.RawMessage, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, nil
	}
	switch f {
	case FormatJSON:
		return splitJSON(trimmed)
	case FormatYAML:
		return d.splitYAML(data)
	}
	if trimmed[0] != '{' {
		return d.splitYAML(data)
	}
	// JSON only when it all parses as JSON: anything else that starts
	// with `{` may be flow-style YAML. When neither reads it, both
	// errors are told: the author meant one of them.
	docs, jsonErr := splitJSON(trimmed)
	if jsonErr == nil {
		return docs, nil
	}
	docs, yamlErr := d.splitYAML(data)
	if yamlErr != nil {
		return nil, badRequestf("%v; read as YAML: %v", jsonErr, yamlErr)
	}
	return docs, nil
}

func splitJSON(data []byte) ([]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var docs []json.RawMessage
	for i := 0; ; i++ {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, badRequestf("document %d: invalid JSON: %v", i, err)
		}
		docs = append(docs, raw)
	}
}

func (d *decoder) splitYAML(data []byte) ([]json.RawMessage, error) {
	rd := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs []json.RawMessage
	for i := 0; ; i++ {
		doc, err := rd.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, badRequestf("document %d: reading YAML: %v", i, err)
		}
		js, err := d.yamlToJSON(doc)
		if err != nil {
			return nil, badRequestf("document %d: error converting YAML to JSON: %v", i, err)
		}
		docs = append(docs, js)
	}
}

// typeAndName is what is read from a document before its kind is known.
type typeAndName struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
}

func (d *decoder) decodeDocument(raw json.RawMessage, where string, depth int) ([]runtime.Object, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil // an empty document, e.g. a trailing `---`
	}
	if raw[0] != '{' {
		return nil, badRequestf("%s: not a Kubernetes object: expected a mapping with apiVersion and kind, got %s", where, abbreviate(raw))
	}
	var tn typeAndName
	if err := json.Unmarshal(raw, &tn); err != nil {
		return nil, badRequestf("%s: reading apiVersion and kind: %v", where, err)
	}
	if tn.Kind == "" {
		return nil, badRequestf("%s: Object 'Kind' is missing in '%s'", where, abbreviate(raw))
	}
	if tn.APIVersion == "" {
		return nil, badRequestf("%s: Object 'apiVersion' is missing in '%s'", where, abbreviate(raw))
	}
	gv, err := schema.ParseGroupVersion(tn.APIVersion)
	if err != nil {
		return nil, badRequestf("%s: invalid apiVersion %q: %v", where, tn.APIVersion, err)
	}
	gvk := gv.WithKind(tn.Kind)
	if tn.Metadata.Name != "" {
		where = fmt.Sprintf("%s (%s %q)", where, tn.Kind, tn.Metadata.Name)
	}
	if isListKind(gvk) {
		return d.decodeList(raw, gvk, where, depth)
	}
	obj := newObject(gvk)
	if obj == nil {
		return nil, unknownKind(where, gvk)
	}
	if err := d.unmarshal(raw, obj, where); err != nil {
		return nil, err
	}
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	return []runtime.Object{obj}, nil
}

func (d *decoder) decodeList(raw json.RawMessage, gvk schema.GroupVersionKind, where string, depth int) ([]runtime.Object, error) {
	if depth >= maxListDepth {
		return nil, badRequestf("%s: Lists nested more than %d deep", where, maxListDepth)
	}
	var list corev1.List
	if err := d.unmarshal(raw, &list, where); err != nil {
		return nil, err
	}
	var out []runtime.Object
	for i, item := range list.Items {
		itemWhere := fmt.Sprintf("%s, items[%d]", where, i)
		objs, err := d.decodeDocument(item.Raw, itemWhere, depth+1)
		if err != nil {
			return nil, err
		}
		if gvk.Kind != "List" {
			for _, o := range objs {
				if got := o.GetObjectKind().GroupVersionKind(); got.Kind+"List" != gvk.Kind {
					return nil, badRequestf("%s: a %s may not hold a %s", itemWhere, gvk.Kind, got.Kind)
				}
			}
		}
		out = append(out, objs...)
	}
	return out, nil
}

func isListKind(gvk schema.GroupVersionKind) bool {
	if gvk.Kind == "List" {
		return gvk.GroupVersion() == corev1.SchemeGroupVersion
	}
	item, ok := strings.CutSuffix(gvk.Kind, "List")
	return ok && newObject(gvk.GroupVersion().WithKind(item)) != nil
}

func newObject(gvk schema.GroupVersionKind) runtime.Object {
	switch gvk {
	case PodGVK:
		return &corev1.Pod{}
	case ConfigMapGVK:
		return &corev1.ConfigMap{}
	case SecretGVK:
		return &corev1.Secret{}
	case JobGVK:
		return &batchv1.Job{}
	case CronJobGVK:
		return &batchv1.CronJob{}
	}
	return nil
}

func unknownKind(where string, gvk schema.GroupVersionKind) *StatusError {
	return badRequestf("%s: no kind %q is registered for version %q: podrun accepts v1 Pod, ConfigMap, Secret, List and batch/v1 Job, CronJob",
		where, gvk.Kind, gvk.GroupVersion().String())
}

// yamlToJSON converts one YAML document. A duplicated key is a strict
// error: refused under Strict, a warning under Warn (the later value
// wins, as in the API server's non-strict YAML decoding).
func (d *decoder) yamlToJSON(doc []byte) ([]byte, error) {
	js, strictErr := yaml.YAMLToJSONStrict(doc)
	if strictErr == nil || d.validation == FieldValidationStrict {
		return js, strictErr
	}
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, err
	}
	if d.validation == FieldValidationWarn {
		d.warnings = append(d.warnings, yamlStrictWarnings(strictErr.Error())...)
	}
	return js, nil
}

// yamlStrictWarnings splits a strict YAML error ("yaml: unmarshal
// errors:\n  line 4: key \"a\" already set in map") into one warning a
// line, as the API server does.
func yamlStrictWarnings(msg string) []string {
	msg = strings.TrimPrefix(msg, "error converting YAML to JSON: ")
	rest, ok := strings.CutPrefix(msg, "yaml: unmarshal errors:\n")
	if !ok {
		return []string{msg}
	}
	var out []string
	for _, line := range strings.Split(rest, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}

// unmarshal decodes case-sensitively (as the API server does). Under
// Strict every unknown or duplicated field is an error naming its path
// (`strict decoding error: unknown field "spec.foo"`), under Warn each is
// a warning, under Ignore they are dropped.
func (d *decoder) unmarshal(raw []byte, into any, where string) error {
	if d.validation == FieldValidationIgnore {
		if err := sigsjson.UnmarshalCaseSensitivePreserveInts(raw, into); err != nil {
			return badRequestf("%s: %v", where, err)
		}
		return nil
	}
	strictErrs, err := sigsjson.UnmarshalStrict(raw, into, sigsjson.DisallowDuplicateFields, sigsjson.DisallowUnknownFields)
	if err != nil {
		return badRequestf("%s: %v", where, err)
	}
	if len(strictErrs) == 0 {
		return nil
	}
	msgs := make([]string, len(strictErrs))
	for i, e := range strictErrs {
		msgs[i] = e.Error()
	}
	if d.validation == FieldValidationWarn {
		d.warnings = append(d.warnings, msgs...)
		return nil
	}
	if d.oneObject {
		return badRequestf("strict decoding error: %s", strings.Join(msgs, ", "))
	}
	return badRequestf("%s: strict decoding error: %s", where, strings.Join(msgs, ", "))
}

// abbreviate keeps error messages readable when the input is large.
func abbreviate(b []byte) string {
	const max = 80
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}
