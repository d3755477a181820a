package objects

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/uuid"
)

// Resource is one kind the store keeps as is (configmaps, secrets, events,
// jobs) with the rules of its writes: the API server's create, update,
// patch, delete and delete-collection over a Collection, with optimistic
// concurrency, preconditions, dry run and the kind's hooks. The kinds are
// built in resources.go; adding one is adding a Resource there.
type Resource[T runtime.Object] struct {
	b      *Objects
	kind   string
	bucket string
	coll   Collection[T]
	meta   func(T) *metav1.ObjectMeta
	// prepare defaults and validates a new or replacing object (identity
	// already set).
	prepare func(obj T) error
	// merge, for an update, carries over what the server owns from the
	// stored object and checks the update; runs after prepare.
	merge func(next, cur T) error
	// onDelete adjusts the deleted object from the options (Job propagation).
	onDelete func(opts *metav1.DeleteOptions, obj T)
	// deferDelete, when it reports true, stands in for the removal: the
	// object was only marked for deletion (a Job deleted with Foreground
	// propagation stays until its pods are gone).
	deferDelete func(ctx context.Context, opts *metav1.DeleteOptions, namespace, name string) (T, bool, error)
	// applied runs after a create or a changing update; deleted after a delete.
	applied func(ctx context.Context, obj T)
	deleted func(ctx context.Context, obj T)
}

// Kind is the resource's kind ("ConfigMap").
func (r *Resource[T]) Kind() string { return r.kind }

// Bucket is the resource's store bucket (for lists and watches).
func (r *Resource[T]) Bucket() string { return r.bucket }

// Meta is obj's metadata.
func (r *Resource[T]) Meta(obj T) *metav1.ObjectMeta { return r.meta(obj) }

// public is obj as clients see it: a copy with apiVersion and kind set.
func (r *Resource[T]) public(obj T) T {
	c := obj.DeepCopyObject().(T)
	c.GetObjectKind().SetGroupVersionKind(kindOf(r.bucket).gvk)
	return c
}

// Get reads one object.
func (r *Resource[T]) Get(ctx context.Context, namespace, name string) (T, error) {
	obj, err := r.coll.Get(ctx, namespace, name)
	if err != nil {
		var zero T
		return zero, err
	}
	return r.public(obj), nil
}

// List reads the objects of namespace ("" = all) and the store
// resourceVersion they were read at.
func (r *Resource[T]) List(ctx context.Context, namespace string) ([]T, uint64, error) {
	items, rv, err := r.coll.List(ctx, namespace)
	for i := range items {
		items[i] = r.public(items[i])
	}
	return items, rv, err
}

// Create gives obj its identity, prepares and stores it (with dry run:
// only returns what would be stored).
func (r *Resource[T]) Create(ctx context.Context, obj T, o WriteOptions) (T, error) {
	var zero T
	m := r.meta(obj)
	m.UID = uuid.NewUUID()
	m.CreationTimestamp = metav1.NewTime(r.b.clk.Now())
	m.ResourceVersion, m.Generation = "", 1
	m.DeletionTimestamp, m.DeletionGracePeriodSeconds = nil, nil
	if err := r.prepare(obj); err != nil {
		return zero, err
	}
	r.b.manageCreate(kindOf(r.bucket), obj, o)
	if o.DryRun {
		return r.public(obj), nil
	}
	created, err := r.coll.Create(ctx, obj)
	if err != nil {
		return zero, err
	}
	if r.applied != nil {
		r.applied(ctx, created)
	}
	return r.public(created), nil
}

// Update replaces the stored object of obj's name (a PUT): its
// resourceVersion, when set, must be the stored one (409 otherwise).
func (r *Resource[T]) Update(ctx context.Context, obj T, o WriteOptions) (T, error) {
	var zero T
	m := r.meta(obj)
	var before string
	replace := func(cur T) (T, error) {
		before = r.meta(cur).ResourceVersion
		if err := r.replacement(obj, cur, o); err != nil {
			return zero, err
		}
		return obj, nil
	}
	if o.DryRun {
		cur, err := r.coll.Get(ctx, m.Namespace, m.Name)
		if err != nil {
			return zero, err
		}
		next, err := replace(cur)
		if err != nil {
			return zero, err
		}
		r.meta(next).ResourceVersion = before
		return r.public(next), nil
	}
	updated, err := r.coll.Mutate(ctx, m.Namespace, m.Name, replace)
	if err != nil {
		return zero, err
	}
	if r.applied != nil && r.meta(updated).ResourceVersion != before {
		r.applied(ctx, updated)
	}
	return r.public(updated), nil
}

// replacement checks and completes next as the successor of the stored cur.
func (r *Resource[T]) replacement(next, cur T, o WriteOptions) error {
	m, cm := r.meta(next), r.meta(cur)
	if err := checkVersion(kindOf(r.bucket).resource, m, cm); err != nil {
		return err
	}
	if err := RefuseManagedWrite(r.kind, cm, o.FileForced); err != nil {
		return err
	}
	if err := keepIdentity(r.kind, m, cm); err != nil {
		return err
	}
	if err := r.prepare(next); err != nil {
		return err
	}
	if r.merge != nil {
		if err := r.merge(next, cur); err != nil {
			return err
		}
	}
	r.b.manageUpdate(kindOf(r.bucket), next, cur, o)
	return nil
}

// Patch applies a PATCH to the stored object and writes the result as an
// update. A patch that does not name a resourceVersion is retried when
// another write wins the race, as the API server retries it. A
// server-side apply of an object that does not exist creates it
// (created is true then).
func (r *Resource[T]) Patch(ctx context.Context, namespace, name string, pr *PatchRequest) (out T, created bool, err error) {
	for try := 0; ; try++ {
		cur, err := r.Get(ctx, namespace, name)
		absent := apierrors.IsNotFound(err) && pr.isApply()
		if absent {
			cur = r.public(kindOf(r.bucket).new().(T))
			r.meta(cur).Namespace, r.meta(cur).Name = namespace, name
		} else if err != nil {
			return out, false, err
		}
		next, err := r.patchedFrom(cur, pr, namespace, name)
		if err != nil {
			return out, false, err
		}
		if absent {
			out, err = r.Create(ctx, next, pr.WriteOptions)
			if apierrors.IsAlreadyExists(err) && try < 5 {
				continue
			}
			return out, err == nil, err
		}
		pinned := r.meta(next).ResourceVersion != ""
		if !pinned {
			r.meta(next).ResourceVersion = r.meta(cur).ResourceVersion
		}
		out, err = r.Update(ctx, next, pr.WriteOptions)
		if apierrors.IsConflict(err) && !pinned && try < 5 {
			continue
		}
		return out, false, err
	}
}

// patchedFrom is cur with the patch applied, as a T that still names the
// object of the URL.
func (r *Resource[T]) patchedFrom(cur T, pr *PatchRequest, namespace, name string) (T, error) {
	var zero T
	raw, err := r.b.patched(kindOf(r.bucket), cur, pr)
	if err != nil {
		return zero, err
	}
	next, ok := raw.(T)
	if !ok {
		return zero, fmt.Errorf("patched %s decoded as %T", r.kind, raw)
	}
	if err := checkPatchedName(r.meta(next), namespace, name); err != nil {
		return zero, err
	}
	return next, nil
}

// Delete removes one object with the DELETE's options: preconditions,
// dry run, and the kind's propagation. An object a manifest file owns is
// deleted only when forced (RefuseManagedWrite).
func (r *Resource[T]) Delete(ctx context.Context, namespace, name string, opts *metav1.DeleteOptions, forced bool) (T, error) {
	var zero T
	cur, err := r.coll.Get(ctx, namespace, name)
	if err != nil {
		return zero, err
	}
	if err := RefuseManagedWrite(r.kind, r.meta(cur), forced); err != nil {
		return zero, err
	}
	if err := checkPreconditions(kindOf(r.bucket).resource, opts.Preconditions, r.meta(cur)); err != nil {
		return zero, err
	}
	if len(opts.DryRun) > 0 {
		return r.public(cur), nil
	}
	if r.deferDelete != nil {
		obj, deferred, err := r.deferDelete(ctx, opts, namespace, name)
		if err != nil {
			return zero, err
		}
		if deferred {
			return r.public(obj), nil
		}
	}
	// The preconditions hold in the deleting transaction too: a write
	// between the check above and here cannot slip through.
	obj, err := r.coll.DeleteChecked(ctx, namespace, name, func(stored T) error {
		if r.meta(stored).UID != r.meta(cur).UID {
			return apierrors.NewConflict(kindOf(r.bucket).resource, name, errors.New("the object was replaced meanwhile"))
		}
		return checkPreconditions(kindOf(r.bucket).resource, opts.Preconditions, r.meta(stored))
	})
	if err != nil {
		return zero, err
	}
	if r.onDelete != nil {
		r.onDelete(opts, obj)
	}
	if r.deleted != nil {
		r.deleted(ctx, obj)
	}
	return r.public(obj), nil
}

// DeleteCollection deletes every object the list request selects (a
// DELETE on the collection) and returns them. Objects that go away
// meanwhile are skipped.
func (r *Resource[T]) DeleteCollection(ctx context.Context, req *ListRequest, opts *metav1.DeleteOptions, forced bool) ([]T, error) {
	items, _, err := r.coll.List(ctx, req.namespace)
	if err != nil {
		return nil, err
	}
	return deleteSelected(items, func(it T) bool { return req.Matches(r.public(it)) }, func(it T) (T, error) {
		return r.Delete(ctx, r.meta(it).Namespace, r.meta(it).Name, opts, forced)
	})
}

// deleteSelected deletes each selected item with del, in order; items
// that are gone meanwhile are skipped. It returns what was deleted.
func deleteSelected[T, R any](items []T, selected func(T) bool, del func(T) (R, error)) ([]R, error) {
	out := make([]R, 0, len(items))
	for _, it := range items {
		if !selected(it) {
			continue
		}
		gone, err := del(it)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return out, err
		}
		out = append(out, gone)
	}
	return out, nil
}
