package client

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
)

// Resource is a REST collection of podrund, named by its Kubernetes plural.
type Resource string

// The collections of docs/contract.md §3.
const (
	Pods       Resource = "pods"
	ConfigMaps Resource = "configmaps"
	Secrets    Resource = "secrets"
	Events     Resource = "events"
	Jobs       Resource = "jobs"
	CronJobs   Resource = "cronjobs"
)

// Kind is the Kubernetes kind of the collection's objects.
func (r Resource) Kind() string {
	switch r {
	case Pods:
		return "Pod"
	case ConfigMaps:
		return "ConfigMap"
	case Secrets:
		return "Secret"
	case Events:
		return "Event"
	case Jobs:
		return "Job"
	case CronJobs:
		return "CronJob"
	}
	return string(r)
}

// groupPrefix is the API group's path prefix.
func (r Resource) groupPrefix() string {
	if r == Jobs || r == CronJobs {
		return "/apis/batch/v1"
	}
	return "/api/v1"
}

// Path is the collection's path in namespace ns; an empty ns means all
// namespaces (a list or watch across them).
func (r Resource) Path(ns string) string {
	if ns == "" {
		return fmt.Sprintf("%s/%s", r.groupPrefix(), r)
	}
	return fmt.Sprintf("%s/namespaces/%s/%s", r.groupPrefix(), url.PathEscape(ns), r)
}

// ObjectPath is the path of one object.
func (r Resource) ObjectPath(ns, name string) string {
	return r.Path(ns) + "/" + url.PathEscape(name)
}

// Get reads one object into out (e.g. a *corev1.Pod).
func (c *Client) Get(ctx context.Context, r Resource, ns, name string, out any) error {
	return c.do(ctx, request{method: "GET", path: r.ObjectPath(ns, name)}, out)
}

// List reads a collection into out (e.g. a *corev1.PodList); ns "" lists
// every namespace.
func (c *Client) List(ctx context.Context, r Resource, ns string, out any) error {
	return c.do(ctx, request{method: "GET", path: r.Path(ns)}, out)
}

// Create POSTs obj and decodes the stored object into out.
func (c *Client) Create(ctx context.Context, r Resource, ns string, obj, out any) error {
	body, err := jsonBody(obj)
	if err != nil {
		return err
	}
	return c.do(ctx, request{method: "POST", path: r.Path(ns), query: c.writeQuery(), body: body, contentType: "application/json"}, out)
}

// Update PUTs obj as the new version of object name and decodes the stored
// object into out.
func (c *Client) Update(ctx context.Context, r Resource, ns, name string, obj, out any) error {
	body, err := jsonBody(obj)
	if err != nil {
		return err
	}
	return c.do(ctx, request{method: "PUT", path: r.ObjectPath(ns, name), query: c.writeQuery(), body: body,
		contentType: "application/json"}, out)
}

// DeleteOptions are the options of a DELETE.
type DeleteOptions struct {
	// GracePeriodSeconds overrides the pod's terminationGracePeriodSeconds.
	GracePeriodSeconds *int64
}

// Delete deletes object name and decodes the answer (for a pod: the pod with
// deletionTimestamp set) into out.
func (c *Client) Delete(ctx context.Context, r Resource, ns, name string, opts DeleteOptions, out any) error {
	q := c.writeQuery()
	if opts.GracePeriodSeconds != nil {
		q.Set("gracePeriodSeconds", strconv.FormatInt(*opts.GracePeriodSeconds, 10))
	}
	return c.do(ctx, request{method: "DELETE", path: r.ObjectPath(ns, name), query: q}, out)
}
