package containerd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
)

// startedAtFile, in an instance's directory (beside its termination-log
// file), holds when its process was started, RFC 3339 with nanoseconds.
const startedAtFile = "started-at"

// createdTask is an instance created by this Runtime and not yet started:
// its task handle, so that the start needs no container and task lookups,
// and its termination-log path, whose directory is the instance's.
type createdTask struct {
	task    containerd.Task
	termLog string
}

func (r *Runtime) keepCreated(id string, task containerd.Task, termLog string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.created == nil {
		r.created = map[string]createdTask{}
	}
	r.created[id] = createdTask{task: task, termLog: termLog}
}

// takeCreated removes and returns what keepCreated kept of id.
func (r *Runtime) takeCreated(id string) (createdTask, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ct, ok := r.created[id]
	delete(r.created, id)
	return ct, ok
}

// startable is the created instance id: kept since its creation, or
// looked up in containerd (created by an earlier podrund).
func (r *Runtime) startable(ctx context.Context, id string) (createdTask, error) {
	if ct, ok := r.takeCreated(id); ok {
		return ct, nil
	}
	cont, task, err := r.loadTask(ctx, id)
	if err != nil {
		return createdTask{}, err
	}
	labels, err := cont.Labels(ctx)
	if err != nil {
		return createdTask{}, fmt.Errorf("labels of %s: %w", id, err)
	}
	return createdTask{task: task, termLog: labels[labelTermLog]}, nil
}

// writeStartedAt records the start time in the instance's directory.
func writeStartedAt(termLog string, t time.Time) error {
	if termLog == "" {
		return nil
	}
	path := filepath.Join(filepath.Dir(termLog), startedAtFile)
	if err := os.WriteFile(path, []byte(t.Format(time.RFC3339Nano)), 0o644); err != nil {
		return fmt.Errorf("write start time: %w", err)
	}
	return nil
}

// readStartedAt is the start time of an instance: from its directory, or
// from the started-at label an earlier podrund version set. Zero: never
// started (or not known).
func readStartedAt(labels map[string]string) time.Time {
	if termLog := labels[labelTermLog]; termLog != "" {
		if b, err := os.ReadFile(filepath.Join(filepath.Dir(termLog), startedAtFile)); err == nil {
			if t, err := time.Parse(time.RFC3339Nano, string(b)); err == nil {
				return t
			}
		}
	}
	t, _ := time.Parse(time.RFC3339Nano, labels[labelStartedAt])
	return t
}
