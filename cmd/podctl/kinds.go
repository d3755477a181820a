package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

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

// kindByName resolves a command-line type name or alias (po, pods, cm, ...).
func kindByName(name string) (kind, error) {
	switch strings.ToLower(name) {
	case "po", "pod", "pods":
		return kind{client.Pods, "pod", func() runtime.Object { return &corev1.Pod{} }}, nil
	case "job", "jobs", "job.batch", "jobs.batch":
		return kind{client.Jobs, "job.batch", func() runtime.Object { return &batchv1.Job{} }}, nil
	case "cj", "cronjob", "cronjobs", "cronjob.batch", "cronjobs.batch":
		return kind{client.CronJobs, "cronjob.batch", func() runtime.Object { return &batchv1.CronJob{} }}, nil
	case "cm", "configmap", "configmaps":
		return kind{client.ConfigMaps, "configmap", func() runtime.Object { return &corev1.ConfigMap{} }}, nil
	case "secret", "secrets":
		return kind{client.Secrets, "secret", func() runtime.Object { return &corev1.Secret{} }}, nil
	case "ev", "event", "events":
		return kind{client.Events, "event", func() runtime.Object { return &corev1.Event{} }}, nil
	}
	return kind{}, fmt.Errorf("the server doesn't have a resource type %q", name)
}

// kindOf is the kind of a decoded object.
func kindOf(obj runtime.Object) (kind, error) {
	switch obj.(type) {
	case *corev1.Pod:
		return kindByName("pod")
	case *batchv1.Job:
		return kindByName("job")
	case *batchv1.CronJob:
		return kindByName("cronjob")
	case *corev1.ConfigMap:
		return kindByName("configmap")
	case *corev1.Secret:
		return kindByName("secret")
	case *corev1.Event:
		return kindByName("event")
	}
	return kind{}, fmt.Errorf("podctl cannot handle objects of type %T", obj)
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
