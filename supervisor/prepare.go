package supervisor

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
)

// PreparedChecker is the part of Runtime for instances created ahead of
// their turn (CreateRequest.Ahead): whether one is still what
// CreateContainer would create at the turn (Kubernetes resolves env and
// subPath files when a container's turn comes, so an instance whose
// inputs changed must not be started), and its removal. It is part of
// Runtime rather than an optional interface so that wrappers embedding a
// Runtime pass it on.
type PreparedChecker interface {
	// PreparedCurrent reports whether inst, created from an earlier
	// request for the same container, attempt and sandbox, matches what
	// req would create now: the ConfigMaps and Secrets its env and
	// subPath mounts resolved are unchanged.
	PreparedCurrent(ctx context.Context, req CreateRequest, inst Instance) (bool, error)
	// RemovePrepared removes an instance that was prepared and never
	// started, with everything its creation left (its empty log file).
	RemovePrepared(ctx context.Context, id string) error
}

// prepareParallel bounds the creations ahead in flight across all pods:
// one per CPU, at least 2 and at most 4. A creation waits on containerd,
// the shim's start and runc as much as it computes, so two overlap well
// even on 2 cores: there the benchmark pod's two later containers are
// both ready by their turns (one at a time left the second late).
func prepareParallel(cpus int) int {
	return min(max(cpus, 2), 4)
}

// removeTimeout bounds the removal of an instance that never ran (unused
// prepared, or failed to start), which runs even when the context of the
// work that made it ended (pod deleted, podrund stopping).
const removeTimeout = 10 * time.Second

var (
	errNotPrepared  = errors.New("not prepared: its turn came before its creation began")
	errImageMissing = errors.New("not prepared: the image is not present")
)

// prepared is one later container being created ahead of its turn. Only
// the worker's loop reads and changes the set of them; the fields below
// mu are shared with the creating goroutine, inst and err are written by
// it before done is closed.
type prepared struct {
	container string
	class     ContainerClass
	attempt   int32
	sandbox   int32
	specHash  string
	cancel    context.CancelFunc
	done      chan struct{}
	inst      Instance
	imageRef  string
	err       error

	mu        sync.Mutex
	begun     bool // the creation began: the turn waits for it
	abandoned bool // the turn came first: the creation never begins
}

// preparedSet is a worker's later containers created ahead of their turn
// (Options.PrepareAhead). The maps belong to the worker's loop goroutine;
// creations and removals run in goroutines of their own, counted by wg,
// under base (the worker's lifetime, set when its loop starts).
type preparedSet struct {
	m          *Manager
	log        *zap.Logger
	base       context.Context
	byName     map[string]*prepared
	discarding map[string]chan struct{} // closed once removed
	wg         sync.WaitGroup
}

// prepareLater starts, right after the sandbox of a new attempt was made
// (first start, R14/R95 re-initialization), the creation of every later
// container of the initialization sequence, in spec order: init
// containers after the first and the regular containers the plan will
// start. Nothing is started; each instance waits in w.prepared for its
// turn (takePrepared) and is removed if the turn never comes.
func (w *worker) prepareLater(p *Plan) {
	if !w.m.opts.PrepareAhead || w.m.prepSem == nil || w.prep.base == nil {
		return
	}
	st := &w.rec.Engine
	pod := w.rec.Pod
	type later struct {
		c     *corev1.Container
		class ContainerClass
	}
	var todo []later
	if len(pod.Spec.InitContainers) > 0 {
		for i := 1; i < len(pod.Spec.InitContainers); i++ {
			c := &pod.Spec.InitContainers[i]
			todo = append(todo, later{c, classOf(c, true)})
		}
		for i := range pod.Spec.Containers {
			c := &pod.Spec.Containers[i]
			if cur, _ := newest(st, c.Name, -1); runsOnce(pod, c) &&
				cur != nil && cur.State == InstanceExited && cur.ExitCode == 0 {
				continue // completed under OnFailure: re-initialization skips it (R106)
			}
			todo = append(todo, later{c, Regular})
		}
	} else {
		for _, i := range p.StartRegular[min(1, len(p.StartRegular)):] {
			todo = append(todo, later{&pod.Spec.Containers[i], Regular})
		}
	}
	for _, l := range todo {
		// Always would pull at the turn ("Pulling" events): not ahead.
		if pullPolicy(l.c) == corev1.PullAlways || w.prep.has(l.c.Name) {
			continue
		}
		w.launchPrepare(l.c, l.class)
	}
}

// launchPrepare creates one later container in the background.
func (w *worker) launchPrepare(c *corev1.Container, class ContainerClass) {
	st := &w.rec.Engine
	attempt := int32(0)
	if cur, _ := newest(st, c.Name, -1); cur != nil {
		attempt = cur.Attempt + 1
	}
	w.prep.launch(CreateRequest{Pod: w.rec.Pod, Container: c, Class: class, Attempt: attempt,
		Sandbox: w.sandbox}, st.SandboxAttempt)
}

// prunePrepared removes prepared instances whose turn can no longer come
// as prepared: the pod terminates, the sandbox changed, the definition
// changed (§R image update), the container already has an instance in
// this sandbox, or a plain init container failed (its restarts, if any,
// are single-container restarts: nothing is kept prepared meanwhile).
func (w *worker) prunePrepared() {
	if len(w.prep.byName) == 0 {
		return
	}
	st := &w.rec.Engine
	initFailed := false
	for i := range st.Instances {
		in := &st.Instances[i]
		if c, init := findContainer(w.rec.Pod, in.Container); init && c != nil && !isSidecar(c) &&
			in.SandboxAttempt == st.SandboxAttempt && in.State == InstanceExited && in.ExitCode != 0 {
			initFailed = true
		}
	}
	gone := st.Terminating != nil || w.finished || w.deleted || !w.sandboxReady || initFailed
	w.prep.prune(func(p *prepared) bool {
		c, _ := findContainer(w.rec.Pod, p.container)
		cur, _ := newest(st, p.container, st.SandboxAttempt)
		return !gone && c != nil && p.sandbox == st.SandboxAttempt && p.specHash == specHash(c) && cur == nil
	})
}

// has reports whether container has an instance prepared or being prepared.
func (s *preparedSet) has(container string) bool { return s.byName[container] != nil }

// launch creates one later container in the background; sandbox is the
// sandbox attempt req.Sandbox belongs to.
func (s *preparedSet) launch(req CreateRequest, sandbox int32) {
	ctx, cancel := context.WithCancel(s.base)
	p := &prepared{container: req.Container.Name, class: req.Class, attempt: req.Attempt, sandbox: sandbox,
		specHash: specHash(req.Container), cancel: cancel, done: make(chan struct{})}
	if s.byName == nil {
		s.byName = map[string]*prepared{}
	}
	s.byName[p.container] = p
	req.Ahead = true
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(p.done)
		p.inst, p.imageRef, p.err = s.m.createAhead(ctx, p, req)
	}()
}

// createAhead waits for a creation slot, checks the image is present and
// creates the instance, unless the turn came first.
func (m *Manager) createAhead(ctx context.Context, p *prepared, req CreateRequest) (Instance, string, error) {
	select {
	case m.prepSem <- struct{}{}:
		defer func() { <-m.prepSem }()
	case <-ctx.Done():
		return Instance{}, "", ctx.Err()
	}
	p.mu.Lock()
	if p.abandoned || ctx.Err() != nil {
		p.mu.Unlock()
		return Instance{}, "", errNotPrepared
	}
	p.begun = true
	p.mu.Unlock()
	img, err := m.rt.ImageStatus(ctx, req.Container.Image)
	if err != nil || !img.Present {
		return Instance{}, "", errImageMissing
	}
	req.ImageRef = img.Ref
	inst, err := m.rt.CreateContainer(ctx, req)
	return inst, img.Ref, err
}

// take returns the instance prepared for req (in sandbox attempt sandbox)
// if there is one that matches it and is still current; else any prepared
// instance of the container is removed and the caller creates one as
// usual, so a failure is reported at the turn with its usual reason.
func (s *preparedSet) take(ctx context.Context, req CreateRequest, img ImageStatus, sandbox int32) (Instance, bool) {
	s.waitDiscarded(ctx, req.Container.Name)
	p := s.byName[req.Container.Name]
	if p == nil {
		return Instance{}, false
	}
	delete(s.byName, req.Container.Name)
	p.mu.Lock()
	if !p.begun {
		p.abandoned = true
		p.mu.Unlock()
		p.cancel()
		return Instance{}, false
	}
	p.mu.Unlock()
	select {
	case <-p.done:
	case <-ctx.Done():
		s.discard(p)
		return Instance{}, false
	}
	if p.err != nil {
		p.cancel()
		s.log.Debug("prepared container not used", zap.String("container", p.container), zap.Error(p.err))
		return Instance{}, false
	}
	if !s.matches(ctx, p, req, img, sandbox) {
		// Removed before the turn's create, which uses the same log and
		// termination-log paths (same attempt).
		s.discard(p)
		s.waitDiscarded(ctx, p.container)
		return Instance{}, false
	}
	p.cancel()
	inst := p.inst
	inst.CreatedAt = time.Time{} // created now, as far as anyone can tell
	return inst, true
}

// matches checks p against the turn's request: same attempt, sandbox,
// definition and image, and inputs unchanged (PreparedChecker).
func (s *preparedSet) matches(ctx context.Context, p *prepared, req CreateRequest, img ImageStatus, sandbox int32) bool {
	if p.attempt != req.Attempt || p.sandbox != sandbox || p.class != req.Class ||
		p.specHash != specHash(req.Container) || p.imageRef != img.Ref ||
		(p.inst.ImageID != "" && img.ID != "" && p.inst.ImageID != img.ID) {
		return false
	}
	cur, err := s.m.rt.PreparedCurrent(ctx, req, p.inst)
	if err != nil {
		s.log.Info("check prepared container", zap.String("container", p.container), zap.Error(err))
		return false
	}
	if !cur {
		s.log.Debug("prepared container is stale: created again", zap.String("container", p.container))
	}
	return cur
}

// discard removes p in the background once its creation ended.
func (s *preparedSet) discard(p *prepared) {
	p.mu.Lock()
	p.abandoned = true
	p.mu.Unlock()
	p.cancel()
	base := s.base
	if base == nil {
		base = context.Background()
	}
	removed := make(chan struct{})
	if s.discarding == nil {
		s.discarding = map[string]chan struct{}{}
	}
	s.discarding[p.container] = removed
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(removed)
		<-p.done
		if p.err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(base), removeTimeout)
		defer cancel()
		if err := s.m.rt.RemovePrepared(ctx, p.inst.ID); err != nil {
			s.log.Warn("remove prepared container", zap.String("container", p.container),
				zap.String("id", p.inst.ID), zap.Error(err))
		}
	}()
}

// waitDiscarded waits until a prepared instance of container that is being
// removed is gone: a create at the turn reuses its paths.
func (s *preparedSet) waitDiscarded(ctx context.Context, container string) {
	ch := s.discarding[container]
	if ch == nil {
		return
	}
	select {
	case <-ch:
		delete(s.discarding, container)
	case <-ctx.Done():
	}
}

// prune removes the prepared instances keep says no to.
func (s *preparedSet) prune(keep func(p *prepared) bool) {
	for name, p := range s.byName {
		if !keep(p) {
			delete(s.byName, name)
			s.discard(p)
		}
	}
}

// end removes every prepared instance and waits until they are gone:
// before the sandbox goes (pod finished, sandbox changed) and when the
// worker ends.
func (s *preparedSet) end() {
	s.prune(func(*prepared) bool { return false })
	s.wg.Wait()
	clear(s.discarding)
}
