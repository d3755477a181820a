// Package apivalidation checks podrun's verdict on Pods, Jobs, ConfigMaps
// and Secrets against the Kubernetes API server's own code of the release
// podrun's k8s.io/api comes from: the same bytes are decoded, defaulted
// and validated by k8s.io/kubernetes' registry strategies (as a create
// request reaches them) and by podrun's api package, and the two verdicts
// (accepted, or refused with which field paths) must agree, except where
// podrun's table of fields it does not run (api.NotRun) says why not.
//
// It is a module of its own so that k8s.io/kubernetes never enters
// podrun's go.mod.
package apivalidation
