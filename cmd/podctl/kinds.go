package main

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/podrun/podrun/api/client"
)

// kind is one object type podctl handles.
type kind struct {
	res client.Resource
	// singular is kubectl's name in messages: pod, job.batch, configmap.
	singular string
	newObj   func() runtime.Object
}

// kinds is every type podctl handles, with the names and aliases the
// command line accepts for it (kubectl's).
var kinds = []struct {
	names []string
	kind
}{
	{[]string{"po", "pod", "pods"},
		kind{client.Pods, "pod", func() runtime.Object { return &corev1.Pod{} }}},
	{[]string{"job", "jobs", "job.batch", "jobs.batch"},
		kind{client.Jobs, "job.batch", func() runtime.Object { return &batchv1.Job{} }}},
	{[]string{"cj", "cronjob", "cronjobs", "cronjob.batch", "cronjobs.batch"},
		kind{client.CronJobs, "cronjob.batch", func() runtime.Object { return &batchv1.CronJob{} }}},
	{[]string{"cm", "configmap", "configmaps"},
		kind{client.ConfigMaps, "configmap", func() runtime.Object { return &corev1.ConfigMap{} }}},
	{[]string{"secret", "secrets"},
		kind{client.Secrets, "secret", func() runtime.Object { return &corev1.Secret{} }}},
	{[]string{"ev", "event", "events"},
		kind{client.Events, "event", func() runtime.Object { return &corev1.Event{} }}},
}

// kindByName resolves a command-line type name or alias (po, pods, cm, ...).
func kindByName(name string) (kind, error) {
	lower := strings.ToLower(name)
	for _, k := range kinds {
		if slices.Contains(k.names, lower) {
			return k.kind, nil
		}
	}
	return kind{}, fmt.Errorf("the server doesn't have a resource type %q", name)
}

// kindOf is the kind of a decoded object: the one whose newObj makes its type.
func kindOf(obj runtime.Object) (kind, error) {
	for _, k := range kinds {
		if reflect.TypeOf(k.newObj()) == reflect.TypeOf(obj) {
			return k.kind, nil
		}
	}
	return kind{}, fmt.Errorf("podctl cannot handle objects of type %T", obj)
}

// withKind makes the RunE of a `podctl VERB TYPE ...` command: run gets
// the kind args[0] names, or the command fails with kindByName's error.
func withKind(run func(cmd *cobra.Command, k kind, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		k, err := kindByName(args[0])
		if err != nil {
			return err
		}
		return run(cmd, k, args)
	}
}

// decode reads one object of this kind from JSON.
func (k kind) decode(raw []byte) (runtime.Object, error) {
	obj := k.newObj()
	if err := json.Unmarshal(raw, obj); err != nil {
		return nil, fmt.Errorf("decode %s: %w", k.singular, err)
	}
	return obj, nil
}

// get reads one object.
func (k kind) get(ctx context.Context, c *client.Client, ns, name string) (runtime.Object, error) {
	obj := k.newObj()
	if err := c.Get(ctx, k.res, ns, name, obj); err != nil {
		return nil, err
	}
	return obj, nil
}

// list reads every object of the kind in ns ("" = every namespace).
func (k kind) list(ctx context.Context, c *client.Client, ns string) ([]any, error) {
	var l struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := c.List(ctx, k.res, ns, &l); err != nil {
		return nil, err
	}
	out := make([]any, 0, len(l.Items))
	for _, raw := range l.Items {
		obj, err := k.decode(raw)
		if err != nil {
			return nil, err
		}
		out = append(out, obj)
	}
	return out, nil
}

// metaOf is the ObjectMeta of any object podctl handles.
func metaOf(obj runtime.Object) metav1.Object {
	if m, ok := obj.(metav1.Object); ok {
		return m
	}
	// Every kind above embeds ObjectMeta; an empty one keeps callers simple.
	return &metav1.ObjectMeta{}
}
