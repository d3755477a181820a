package kubeapi

import (
	"strings"

	"github.com/podrun/podrun/daemon/openapi"
	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// AggregatedContentType is the media type of aggregated discovery
// (apidiscovery.k8s.io/v2 APIGroupDiscoveryList), which kubectl and
// client-go ask for first on /api and /apis.
const AggregatedContentType = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

// Discovery is the discovery documents of what a router serves.
type Discovery struct {
	served Served
}

// NewDiscovery describes the Kinds that served has verbs for.
func NewDiscovery(served Served) *Discovery { return &Discovery{served: served} }

// Served is what the documents describe.
func (d *Discovery) Served() Served { return d.served }

// groupVersions are the served group versions, the core group first,
// then the named groups in the order of Kinds.
func (d *Discovery) groupVersions() []schema.GroupVersion {
	var out []schema.GroupVersion
	seen := map[schema.GroupVersion]bool{}
	for _, k := range Kinds {
		if !seen[k.GroupVersion] && d.served.Verbs(k.GroupVersion, k.Resource) != nil {
			seen[k.GroupVersion] = true
			out = append(out, k.GroupVersion)
		}
	}
	return out
}

// APIVersions is GET /api: the core group's versions.
func (d *Discovery) APIVersions() *metav1.APIVersions {
	v := &metav1.APIVersions{TypeMeta: metav1.TypeMeta{Kind: "APIVersions"}, Versions: []string{}}
	for _, gv := range d.groupVersions() {
		if gv.Group == "" {
			v.Versions = append(v.Versions, gv.Version)
		}
	}
	// A single node: the client reaches the server at the address it used.
	v.ServerAddressByClientCIDRs = []metav1.ServerAddressByClientCIDR{}
	return v
}

// APIGroupList is GET /apis: the named groups.
func (d *Discovery) APIGroupList() *metav1.APIGroupList {
	l := &metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"},
		Groups: []metav1.APIGroup{}}
	for _, gv := range d.groupVersions() {
		if gv.Group == "" {
			continue
		}
		found := false
		for i := range l.Groups {
			if l.Groups[i].Name == gv.Group {
				l.Groups[i].Versions = append(l.Groups[i].Versions, groupVersionFor(gv))
				found = true
			}
		}
		if !found {
			l.Groups = append(l.Groups, metav1.APIGroup{Name: gv.Group,
				Versions:         []metav1.GroupVersionForDiscovery{groupVersionFor(gv)},
				PreferredVersion: groupVersionFor(gv)})
		}
	}
	return l
}

// APIGroup is GET /apis/{group}: one named group, nil when not served.
func (d *Discovery) APIGroup(group string) *metav1.APIGroup {
	for _, g := range d.APIGroupList().Groups {
		if g.Name == group {
			g.TypeMeta = metav1.TypeMeta{Kind: "APIGroup", APIVersion: "v1"}
			return &g
		}
	}
	return nil
}

func groupVersionFor(gv schema.GroupVersion) metav1.GroupVersionForDiscovery {
	return metav1.GroupVersionForDiscovery{GroupVersion: gv.String(), Version: gv.Version}
}

// APIResourceList is GET /api/v1 or /apis/{group}/{version}: every served
// resource and subresource with its verbs; nil when gv is not served.
func (d *Discovery) APIResourceList(gv schema.GroupVersion) *metav1.APIResourceList {
	l := &metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"},
		GroupVersion: gv.String(), APIResources: []metav1.APIResource{}}
	for _, k := range Kinds {
		verbs := d.served.Verbs(k.GroupVersion, k.Resource)
		if k.GroupVersion != gv || verbs == nil {
			continue
		}
		l.APIResources = append(l.APIResources, metav1.APIResource{
			Name: k.Resource, SingularName: k.Singular, Namespaced: k.Namespaced, Kind: k.Kind,
			Verbs: metav1.Verbs(verbs), ShortNames: k.ShortNames, Categories: k.Categories,
		})
		for _, sub := range k.Subresources {
			subVerbs := d.served.Verbs(k.GroupVersion, k.Resource+"/"+sub.Name)
			if subVerbs == nil {
				continue
			}
			r := metav1.APIResource{Name: k.Resource + "/" + sub.Name, Namespaced: k.Namespaced,
				Kind: sub.GVK.Kind, Verbs: metav1.Verbs(subVerbs)}
			if sub.GVK.GroupVersion() != k.GroupVersion {
				r.Group, r.Version = sub.GVK.Group, sub.GVK.Version
			}
			l.APIResources = append(l.APIResources, r)
		}
	}
	if len(l.APIResources) == 0 {
		return nil
	}
	return l
}

// Aggregated is aggregated discovery of /api (core true) or /apis: every
// served group with its versions and resources in one document.
func (d *Discovery) Aggregated(core bool) *apidiscoveryv2.APIGroupDiscoveryList {
	out := &apidiscoveryv2.APIGroupDiscoveryList{TypeMeta: metav1.TypeMeta{
		Kind: "APIGroupDiscoveryList", APIVersion: "apidiscovery.k8s.io/v2"},
		Items: []apidiscoveryv2.APIGroupDiscovery{}}
	for _, gv := range d.groupVersions() {
		if (gv.Group == "") != core {
			continue
		}
		version := apidiscoveryv2.APIVersionDiscovery{Version: gv.Version,
			Freshness: apidiscoveryv2.DiscoveryFreshnessCurrent}
		for _, r := range d.APIResourceList(gv).APIResources {
			version.Resources = appendAggregated(version.Resources, gv, r)
		}
		var group *apidiscoveryv2.APIGroupDiscovery
		for i := range out.Items {
			if out.Items[i].Name == gv.Group {
				group = &out.Items[i]
			}
		}
		if group == nil {
			out.Items = append(out.Items, apidiscoveryv2.APIGroupDiscovery{ObjectMeta: metav1.ObjectMeta{Name: gv.Group}})
			group = &out.Items[len(out.Items)-1]
		}
		group.Versions = append(group.Versions, version)
	}
	return out
}

// appendAggregated adds r (a resource, or a subresource of the last one)
// in aggregated discovery's shape.
func appendAggregated(list []apidiscoveryv2.APIResourceDiscovery, gv schema.GroupVersion,
	r metav1.APIResource) []apidiscoveryv2.APIResourceDiscovery {
	scope := apidiscoveryv2.ScopeCluster
	if r.Namespaced {
		scope = apidiscoveryv2.ScopeNamespace
	}
	group, version := gv.Group, gv.Version
	if r.Version != "" {
		group, version = r.Group, r.Version
	}
	kind := &metav1.GroupVersionKind{Group: group, Version: version, Kind: r.Kind}
	if parent, sub, ok := strings.Cut(r.Name, "/"); ok {
		last := &list[len(list)-1]
		if last.Resource == parent {
			last.Subresources = append(last.Subresources, apidiscoveryv2.APISubresourceDiscovery{
				Subresource: sub, ResponseKind: kind, Verbs: r.Verbs})
		}
		return list
	}
	return append(list, apidiscoveryv2.APIResourceDiscovery{
		Resource: r.Name, ResponseKind: kind, Scope: scope, SingularResource: r.SingularName,
		Verbs: r.Verbs, ShortNames: r.ShortNames, Categories: r.Categories,
	})
}

// OpenAPIResources are the served resources in the form the OpenAPI
// documents take, so that their paths are exactly discovery's.
func (d *Discovery) OpenAPIResources() []openapi.Resource {
	var out []openapi.Resource
	for _, k := range Kinds {
		verbs := d.served.Verbs(k.GroupVersion, k.Resource)
		if verbs == nil {
			continue
		}
		r := openapi.Resource{GVK: k.GroupVersion.WithKind(k.Kind), Plural: k.Resource,
			Namespaced: k.Namespaced, Verbs: verbs}
		for _, sub := range k.Subresources {
			if v := d.served.Verbs(k.GroupVersion, k.Resource+"/"+sub.Name); v != nil {
				r.Subresources = append(r.Subresources, openapi.Subresource{Name: sub.Name, GVK: sub.GVK, Verbs: v})
			}
		}
		out = append(out, r)
	}
	return out
}

// GroupVersions are the served group versions, the core group first.
func (d *Discovery) GroupVersions() []schema.GroupVersion { return d.groupVersions() }
