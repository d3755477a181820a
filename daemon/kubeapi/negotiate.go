package kubeapi

import (
	"github.com/munnerz/goautoneg"
)

// Media types of the API server's content negotiation.
const (
	MediaJSON     = "application/json"
	MediaYAML     = "application/yaml"
	MediaProtobuf = "application/vnd.kubernetes.protobuf"
)

// Target is one form of an answer a request's Accept header allows: the
// media type and, for a transformed answer, what it is to be "as" (Table,
// APIGroupDiscoveryList) in which group and version.
type Target struct {
	Media   string
	As      string
	Group   string
	Version string
}

// IsTable reports whether the target is a meta.k8s.io v1 or v1beta1
// Table (kubectl get's request; v1beta1 Tables have the same shape).
func (t Target) IsTable() bool {
	return t.As == "Table" && t.Group == "meta.k8s.io" && (t.Version == "v1" || t.Version == "v1beta1")
}

// IsAggregatedDiscovery reports whether the target is
// apidiscovery.k8s.io v2 APIGroupDiscoveryList.
func (t Target) IsAggregatedDiscovery() bool {
	return t.As == "APIGroupDiscoveryList" && t.Group == "apidiscovery.k8s.io" && t.Version == "v2"
}

// Negotiate picks, in the Accept header's order of preference, the first
// target the server can give: a clause whose media type is not JSON, YAML
// or protobuf, or whose "as" accept refuses, is passed over, as the API
// server does. With no acceptable clause (or no header) the answer is
// plain JSON; the API server would answer 406, but an unknown as= falling
// back to the plain object is what kubectl expects of a server that
// cannot transform.
func Negotiate(header string, accept func(Target) bool) Target {
	for _, c := range goautoneg.ParseAccept(header) {
		t := Target{As: c.Params["as"], Group: c.Params["g"], Version: c.Params["v"]}
		switch {
		case c.Type == "*" || (c.Type == "application" && c.SubType == "*"):
			t.Media = MediaJSON
		case c.Type+"/"+c.SubType == MediaJSON, c.Type+"/"+c.SubType == MediaYAML,
			c.Type+"/"+c.SubType == MediaProtobuf:
			t.Media = c.Type + "/" + c.SubType
		default:
			continue
		}
		if c.Q <= 0 {
			continue
		}
		if t.As == "" || (accept != nil && accept(t)) {
			return t
		}
	}
	return Target{Media: MediaJSON}
}

// IsPartialMetadata reports whether the target is meta.k8s.io's
// PartialObjectMetadata (one object, a watch event) or
// PartialObjectMetadataList (a list), what client-go's metadata client
// asks for.
func (t Target) IsPartialMetadata(list bool) bool {
	want := "PartialObjectMetadata"
	if list {
		want += "List"
	}
	return t.As == want && t.Group == "meta.k8s.io" && (t.Version == "v1" || t.Version == "v1beta1")
}
