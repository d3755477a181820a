package openapi

import (
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/openapiconv"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// Resource is one served resource, as discovery lists it, for the paths
// of the documents.
type Resource struct {
	GVK          schema.GroupVersionKind
	Plural       string
	Namespaced   bool
	Verbs        []string
	Subresources []Subresource
}

// Subresource is a served subresource and the kind its verbs carry.
type Subresource struct {
	Name  string
	GVK   schema.GroupVersionKind
	Verbs []string
}

// SpecV2 is GET /openapi/v2: every definition and the operations of
// resources, each tagged with x-kubernetes-action and
// x-kubernetes-group-version-kind as the API server tags them (kubectl
// looks up a kind's PATCH operation to learn that the server validates
// fields itself).
func SpecV2(resources []Resource) (*spec.Swagger, error) {
	defs, err := Definitions()
	if err != nil {
		return nil, err
	}
	sw := &spec.Swagger{SwaggerProps: spec.SwaggerProps{
		Swagger:     "2.0",
		Info:        info(),
		Definitions: defs,
		Paths:       &spec.Paths{Paths: map[string]spec.PathItem{}},
	}}
	for _, r := range resources {
		addPaths(sw.Paths.Paths, r)
	}
	for path, item := range sw.Paths.Paths {
		item.Parameters = pathParams(path)
		sw.Paths.Paths[path] = item
	}
	return sw, nil
}

// SpecV3 is GET /openapi/v3/{api/v1|apis/group/version}: the operations
// of resources of gv and the schemas they reach, converted from v2 with
// kube-openapi's converter.
func SpecV3(gv schema.GroupVersion, resources []Resource) (*spec3.OpenAPI, error) {
	var mine []Resource
	for _, r := range resources {
		if r.GVK.GroupVersion() == gv {
			mine = append(mine, r)
		}
	}
	sw, err := SpecV2(mine)
	if err != nil {
		return nil, err
	}
	sw.Definitions = reachable(sw)
	doc := openapiconv.ConvertV2ToV3(sw)
	doc.Version = "3.0.0"
	return doc, nil
}

// reachable are the definitions the paths of sw reference, directly or
// through other definitions.
func reachable(sw *spec.Swagger) spec.Definitions {
	out := spec.Definitions{}
	var visit func(name string)
	visit = func(name string) {
		if _, done := out[name]; done {
			return
		}
		d, ok := sw.Definitions[name]
		if !ok {
			return
		}
		out[name] = d
		for _, ref := range refsIn(d) {
			visit(ref)
		}
	}
	for _, item := range sw.Paths.Paths {
		for _, op := range operationsOf(item) {
			for _, p := range op.Parameters {
				if p.Schema != nil {
					for _, ref := range refsIn(*p.Schema) {
						visit(ref)
					}
				}
			}
			for _, resp := range op.Responses.StatusCodeResponses {
				if resp.Schema != nil {
					for _, ref := range refsIn(*resp.Schema) {
						visit(ref)
					}
				}
			}
		}
	}
	return out
}

// refsIn are the definition names s references anywhere inside it.
func refsIn(s spec.Schema) []string {
	var out []string
	var walk func(s *spec.Schema)
	walk = func(s *spec.Schema) {
		if s == nil {
			return
		}
		if ref := s.Ref.String(); ref != "" {
			out = append(out, strings.TrimPrefix(ref, "#/definitions/"))
		}
		for name := range s.Properties {
			p := s.Properties[name]
			walk(&p)
		}
		if s.Items != nil {
			walk(s.Items.Schema)
			for i := range s.Items.Schemas {
				walk(&s.Items.Schemas[i])
			}
		}
		if s.AdditionalProperties != nil {
			walk(s.AdditionalProperties.Schema)
		}
		for _, list := range [][]spec.Schema{s.AllOf, s.AnyOf, s.OneOf} {
			for i := range list {
				walk(&list[i])
			}
		}
	}
	walk(&s)
	return out
}

func operationsOf(item spec.PathItem) []*spec.Operation {
	var out []*spec.Operation
	for _, op := range []*spec.Operation{item.Get, item.Put, item.Post, item.Delete, item.Patch} {
		if op != nil {
			out = append(out, op)
		}
	}
	return out
}

// The API server's verbs and the x-kubernetes-action each operation names.
var actionOfVerb = map[string]string{
	"get": "get", "list": "list", "create": "post", "update": "put", "patch": "patch",
	"delete": "delete", "deletecollection": "deletecollection",
}

// addPaths adds r's operations (and its subresources') to paths.
func addPaths(paths map[string]spec.PathItem, r Resource) {
	prefix := "/api/" + r.GVK.Version
	if r.GVK.Group != "" {
		prefix = "/apis/" + r.GVK.Group + "/" + r.GVK.Version
	}
	collection := prefix + "/" + r.Plural
	scope := ""
	if r.Namespaced {
		collection = prefix + "/namespaces/{namespace}/" + r.Plural
		scope = "Namespaced"
	}
	object := collection + "/{name}"
	gvName := gvCamel(r.GVK.GroupVersion())
	kindRef := NameOf(r.GVK)
	listRef := NameOf(r.GVK.GroupVersion().WithKind(r.GVK.Kind + "List"))
	statusRef := Name(&metav1.Status{})
	for _, verb := range r.Verbs {
		action, ok := actionOfVerb[verb]
		if !ok {
			continue // watch is list's ?watch=true
		}
		op := &spec.Operation{}
		op.ID = operationID(verb, gvName, scope, r.GVK.Kind, "")
		op.Consumes = []string{"*/*"}
		op.Produces = []string{"application/json", "application/yaml", "application/vnd.kubernetes.protobuf"}
		op.Extensions = gvkExtension(action, r.GVK)
		op.Parameters = append(op.Parameters, queryParams(verb)...)
		path := object
		response := kindRef
		switch verb {
		case "list":
			path, response = collection, listRef
		case "create":
			path = collection
			op.Parameters = append(op.Parameters, bodyParam(kindRef))
		case "update":
			op.Parameters = append(op.Parameters, bodyParam(kindRef))
		case "patch":
			op.Consumes = []string{"application/json-patch+json", "application/merge-patch+json",
				"application/strategic-merge-patch+json", "application/apply-patch+yaml"}
			op.Parameters = append(op.Parameters, bodyParam(Name(&metav1.Patch{})))
		case "deletecollection":
			path, response = collection, statusRef
		}
		op.Responses = okResponse(response)
		setOperation(paths, path, verb, op)
		if verb == "list" && r.Namespaced {
			all := *op
			all.ID = operationID(verb, gvName, "", r.GVK.Kind, "ForAllNamespaces")
			all.Parameters = queryParams(verb)
			setOperation(paths, prefix+"/"+r.Plural, verb, &all)
		}
	}
	for _, sub := range r.Subresources {
		addSubresourcePaths(paths, object+"/"+sub.Name, gvName, scope, r.GVK, sub)
	}
}

func addSubresourcePaths(paths map[string]spec.PathItem, path, gvName, scope string,
	parent schema.GroupVersionKind, sub Subresource) {
	suffix := strings.ToUpper(sub.Name[:1]) + sub.Name[1:]
	for _, verb := range sub.Verbs {
		op := &spec.Operation{}
		op.Consumes = []string{"*/*"}
		op.Produces = []string{"application/json"}
		action := actionOfVerb[verb]
		response := NameOf(sub.GVK)
		switch sub.Name {
		case "log":
			op.Produces = []string{"text/plain"}
			response = ""
		case "exec", "attach", "portforward":
			action = "connect"
			op.Produces = []string{"*/*"}
			response = ""
		}
		op.ID = operationID(verb, gvName, scope, parent.Kind, suffix)
		if action == "connect" {
			op.ID = "connect" + methodName(verb) + gvName + scope + parent.Kind + suffix
		}
		op.Extensions = gvkExtension(action, sub.GVK)
		op.Parameters = subresourceParams(sub.Name)
		if (verb == "update" || verb == "create") && action != "connect" && response != "" {
			op.Parameters = append(op.Parameters, bodyParam(response))
		}
		op.Responses = okResponse(response)
		setOperation(paths, path, verb, op)
	}
}

func methodName(verb string) string {
	if verb == "get" {
		return "Get"
	}
	return "Post"
}

func setOperation(paths map[string]spec.PathItem, path, verb string, op *spec.Operation) {
	item := paths[path]
	switch verb {
	case "get", "list":
		item.Get = op
	case "create":
		item.Post = op
	case "update":
		item.Put = op
	case "patch":
		item.Patch = op
	case "delete", "deletecollection":
		item.Delete = op
	}
	paths[path] = item
}

// operationID is the API server's: listCoreV1NamespacedPod,
// readBatchV1NamespacedJobStatus, listCoreV1PodForAllNamespaces.
func operationID(verb, gvName, scope, kind, suffix string) string {
	switch verb {
	case "get":
		verb = "read"
	case "update":
		verb = "replace"
	case "deletecollection":
		return "deleteCollection" + gvName + scope + kind + suffix
	}
	if suffix == "ForAllNamespaces" {
		return verb + gvName + kind + suffix
	}
	return verb + gvName + scope + kind + suffix
}

// gvCamel is CoreV1 or BatchV1.
func gvCamel(gv schema.GroupVersion) string {
	group := gv.Group
	if group == "" {
		group = "core"
	}
	group = strings.SplitN(group, ".", 2)[0]
	return strings.ToUpper(group[:1]) + group[1:] + strings.ToUpper(gv.Version[:1]) + gv.Version[1:]
}

func gvkExtension(action string, gvk schema.GroupVersionKind) spec.Extensions {
	return spec.Extensions{
		"x-kubernetes-action":             action,
		"x-kubernetes-group-version-kind": map[string]any{"group": gvk.Group, "version": gvk.Version, "kind": gvk.Kind},
	}
}

func okResponse(ref string) *spec.Responses {
	resp := spec.Response{ResponseProps: spec.ResponseProps{Description: "OK"}}
	if ref != "" {
		resp.Schema = spec.RefSchema("#/definitions/" + ref)
	} else {
		resp.Schema = spec.StringProperty()
	}
	return &spec.Responses{ResponsesProps: spec.ResponsesProps{StatusCodeResponses: map[int]spec.Response{
		200: resp,
		401: {ResponseProps: spec.ResponseProps{Description: "Unauthorized"}},
	}}}
}

func bodyParam(ref string) spec.Parameter {
	return spec.Parameter{ParamProps: spec.ParamProps{Name: "body", In: "body", Required: true,
		Schema: spec.RefSchema("#/definitions/" + ref)}}
}

// pathParams are the path's {name} and {namespace}, as the API server
// lists them on the path item.
func pathParams(path string) []spec.Parameter {
	var out []spec.Parameter
	for _, seg := range strings.Split(path, "/") {
		if !strings.HasPrefix(seg, "{") {
			continue
		}
		name := strings.Trim(seg, "{}")
		p := spec.Parameter{ParamProps: spec.ParamProps{Name: name, In: "path", Required: true,
			Description: fmt.Sprintf("%s of the object", name)}}
		p.Type = "string"
		p.UniqueItems = true
		out = append(out, p)
	}
	return out
}

// queryParams are the query parameters podrund reads for a verb.
func queryParams(verb string) []spec.Parameter {
	names := map[string][]string{
		"list":             {"labelSelector", "fieldSelector", "limit", "continue", "resourceVersion", "timeoutSeconds", "watch", "allowWatchBookmarks", "sendInitialEvents", "resourceVersionMatch"},
		"create":           {"dryRun", "fieldManager", "fieldValidation"},
		"update":           {"dryRun", "fieldManager", "fieldValidation"},
		"patch":            {"dryRun", "fieldManager", "fieldValidation", "force"},
		"delete":           {"dryRun", "gracePeriodSeconds", "propagationPolicy"},
		"deletecollection": {"dryRun", "gracePeriodSeconds", "propagationPolicy", "labelSelector", "fieldSelector"},
	}[verb]
	return append([]spec.Parameter{queryParam("pretty")}, paramsNamed(names)...)
}

func subresourceParams(sub string) []spec.Parameter {
	names := map[string][]string{
		"log":         {"container", "follow", "limitBytes", "previous", "sinceSeconds", "tailLines", "timestamps"},
		"exec":        {"command", "container", "stderr", "stdin", "stdout", "tty"},
		"attach":      {"container", "stderr", "stdin", "stdout", "tty"},
		"portforward": {"ports"},
		"status":      {"dryRun", "fieldManager", "fieldValidation"},
	}[sub]
	return append([]spec.Parameter{queryParam("pretty")}, paramsNamed(names)...)
}

func paramsNamed(names []string) []spec.Parameter {
	sorted := append([]string(nil), names...)
	sort.Strings(sorted)
	out := make([]spec.Parameter, 0, len(sorted))
	for _, n := range sorted {
		out = append(out, queryParam(n))
	}
	return out
}

// queryParam is a query parameter with the API server's type for it.
func queryParam(name string) spec.Parameter {
	typ := "string"
	switch name {
	case "limit", "timeoutSeconds", "gracePeriodSeconds", "limitBytes", "sinceSeconds", "tailLines", "ports":
		typ = "integer"
	case "watch", "allowWatchBookmarks", "sendInitialEvents", "force", "follow", "previous", "timestamps",
		"stderr", "stdin", "stdout", "tty":
		typ = "boolean"
	}
	p := spec.Parameter{ParamProps: spec.ParamProps{Name: name, In: "query"}}
	p.Type = typ
	p.UniqueItems = true
	return p
}
