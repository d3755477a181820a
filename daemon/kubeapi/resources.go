// Package kubeapi is what real Kubernetes clients (kubectl, client-go)
// read from podrund besides the objects themselves: the version, the
// discovery documents (legacy and aggregated) and the content
// negotiation of the API server (Tables, protobuf). It holds data and
// pure functions; daemon/server serves them.
package kubeapi

import (
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Kind is one resource podrund may serve, as the API server describes it
// in discovery. Whether it is served, and with which verbs, is read from
// the routes (see Served), so that discovery never promises a path the
// router does not have.
type Kind struct {
	GroupVersion schema.GroupVersion
	Resource     string // the plural, the path segment
	Singular     string
	Kind         string
	Namespaced   bool
	ShortNames   []string
	Categories   []string
	// Subresources are the Kubernetes subresources podrund may serve
	// under it; podrun's own (blockers, timeline, stats) are not listed.
	Subresources []Subresource
	// NoWatch: a GET of the collection lists but cannot watch (?watch=true
	// is refused), so discovery does not offer the verb.
	NoWatch bool
}

// Subresource is a subresource with the kind its verbs take or return.
type Subresource struct {
	Name string
	GVK  schema.GroupVersionKind
}

var (
	coreV1  = schema.GroupVersion{Version: "v1"}
	batchV1 = schema.GroupVersion{Group: "batch", Version: "v1"}
)

// Kinds are the resources of discovery, with the API server's short names
// and categories (so that kubectl get po, kubectl get all work). Adding a
// kind is one line here plus its routes.
var Kinds = []Kind{
	{GroupVersion: coreV1, Resource: "pods", Singular: "pod", Kind: "Pod", Namespaced: true,
		ShortNames: []string{"po"}, Categories: []string{"all"},
		Subresources: []Subresource{
			{"status", coreV1.WithKind("Pod")},
			{"log", coreV1.WithKind("Pod")},
			{"exec", coreV1.WithKind("PodExecOptions")},
			{"attach", coreV1.WithKind("PodAttachOptions")},
			{"portforward", coreV1.WithKind("PodPortForwardOptions")},
			{"eviction", schema.GroupVersionKind{Group: "policy", Version: "v1", Kind: "Eviction"}},
		}},
	{GroupVersion: coreV1, Resource: "configmaps", Singular: "configmap", Kind: "ConfigMap", Namespaced: true,
		ShortNames: []string{"cm"}},
	{GroupVersion: coreV1, Resource: "secrets", Singular: "secret", Kind: "Secret", Namespaced: true},
	{GroupVersion: coreV1, Resource: "events", Singular: "event", Kind: "Event", Namespaced: true,
		ShortNames: []string{"ev"}},
	{GroupVersion: coreV1, Resource: "namespaces", Singular: "namespace", Kind: "Namespace",
		ShortNames: []string{"ns"}, NoWatch: true},
	{GroupVersion: batchV1, Resource: "jobs", Singular: "job", Kind: "Job", Namespaced: true,
		Categories:   []string{"all"},
		Subresources: []Subresource{{"status", batchV1.WithKind("Job")}}},
	{GroupVersion: batchV1, Resource: "cronjobs", Singular: "cronjob", Kind: "CronJob", Namespaced: true,
		ShortNames: []string{"cj"}, Categories: []string{"all"},
		Subresources: []Subresource{{"status", batchV1.WithKind("CronJob")}}},
}

// Verbs are the verbs served on one resource or subresource, sorted.
type Verbs []string

// Served is what the router serves, keyed by "group/version/resource" or
// "group/version/resource/subresource" (the core group is ""), built by
// ServedFromRoutes.
type Served map[string]Verbs

func servedKey(gv schema.GroupVersion, resource string) string {
	return gv.Group + "/" + gv.Version + "/" + resource
}

// Verbs are the verbs served on resource (or "resource/subresource") of
// gv, nil when none is.
func (s Served) Verbs(gv schema.GroupVersion, resource string) Verbs {
	return s[servedKey(gv, resource)]
}

// ServedFromRoutes reads the verbs each resource is served with from the
// router's (method, pattern) pairs, as the API server names them:
//
//	GET    {prefix}/namespaces/{ns}/{plural}         list, watch (?watch=true)
//	POST   {prefix}/namespaces/{ns}/{plural}         create
//	DELETE {prefix}/namespaces/{ns}/{plural}         deletecollection
//	GET    {prefix}/namespaces/{ns}/{plural}/{name}  get
//	PUT, PATCH, DELETE on it                          update, patch, delete
//	{prefix}/namespaces/{ns}/{plural}/{name}/{sub}   the subresource's verbs
//	                                                 (GET get, POST create, ...)
//
// and the same without namespaces/{ns} for cluster-scoped kinds. Paths
// that are not a Kind of Kinds (or one of its subresources) are left out.
func ServedFromRoutes(routes [][2]string) Served {
	out := Served{}
	add := func(key, verb string) {
		for _, v := range out[key] {
			if v == verb {
				return
			}
		}
		out[key] = append(out[key], verb)
	}
	for _, rt := range routes {
		method, pattern := rt[0], rt[1]
		for _, k := range Kinds {
			key, level, ok := matchKind(k, pattern)
			if !ok {
				continue
			}
			for _, verb := range verbsOf(method, level) {
				if verb != "watch" || !k.NoWatch {
					add(key, verb)
				}
			}
		}
	}
	for _, v := range out {
		sort.Strings(v)
	}
	return out
}

// Route levels: the collection, one object, one object's subresource.
const (
	levelCollection = iota
	levelObject
	levelSubresource
)

// matchKind reports whether pattern is a path of k, the served key it
// counts for, and its level.
func matchKind(k Kind, pattern string) (key string, level int, ok bool) {
	prefix := "/api/" + k.GroupVersion.Version
	if k.GroupVersion.Group != "" {
		prefix = "/apis/" + k.GroupVersion.Group + "/" + k.GroupVersion.Version
	}
	rest, found := strings.CutPrefix(strings.TrimSuffix(pattern, "/"), prefix+"/")
	if !found {
		return "", 0, false
	}
	segs := strings.Split(rest, "/")
	if k.Namespaced && len(segs) >= 3 && segs[0] == "namespaces" && isParam(segs[1]) {
		segs = segs[2:]
	} else if k.Namespaced && len(segs) != 1 {
		return "", 0, false // only the all-namespaces list lives outside namespaces/{ns}
	}
	if segs[0] != k.Resource {
		return "", 0, false
	}
	base := servedKey(k.GroupVersion, k.Resource)
	switch {
	case len(segs) == 1:
		return base, levelCollection, true
	case len(segs) == 2 && isParam(segs[1]):
		return base, levelObject, true
	case len(segs) == 3 && isParam(segs[1]):
		for _, sub := range k.Subresources {
			if sub.Name == segs[2] {
				return base + "/" + sub.Name, levelSubresource, true
			}
		}
	}
	return "", 0, false
}

func isParam(seg string) bool { return strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") }

func verbsOf(method string, level int) []string {
	switch level {
	case levelCollection:
		switch method {
		case "GET":
			return []string{"list", "watch"}
		case "POST":
			return []string{"create"}
		case "DELETE":
			return []string{"deletecollection"}
		}
	case levelObject, levelSubresource:
		switch method {
		case "GET":
			return []string{"get"}
		case "POST":
			return []string{"create"}
		case "PUT":
			return []string{"update"}
		case "PATCH":
			return []string{"patch"}
		case "DELETE":
			return []string{"delete"}
		}
	}
	return nil
}
