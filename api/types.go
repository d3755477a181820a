// Package api is the contract shared by podrund and podctl: decoding of
// Kubernetes YAML, defaulting, validation, Status errors and the small
// podrun-specific types of the REST API.
package api

import (
	"encoding/json"

	"k8s.io/apimachinery/pkg/version"
)

// Image is one image in podrund's containerd namespace.
type Image struct {
	Name string `json:"name"`
	ID   string `json:"id"`
	Size int64  `json:"size"`
}

// ImageList is the body of GET /images and POST /images/import.
type ImageList struct {
	Items []Image `json:"items"`
}

// Version is the body of GET /version: the API server's version.Info
// (what kubectl version and client-go read), plus podrund's own version
// and the containerd it drives.
type Version struct {
	version.Info
	Version    string `json:"version"`
	Containerd string `json:"containerd,omitempty"`
}

// WatchEvent is one line of a ?watch=true stream, in Kubernetes' shape.
type WatchEvent struct {
	Type   string          `json:"type"` // ADDED, MODIFIED, DELETED
	Object json.RawMessage `json:"object"`
}
