package supervisor

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"
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

// prepareParallel bounds the creations ahead in flight, across all pods
// and within one (preparedSet.launched): one per CPU, at least 2 and at
// most 4. They begin only once the pod's first container has its task
// started (R109), so they no longer compete with it; two at a time rather
// than one because on 2 cores one at a time left the app's creation
// unfinished by its turn (benchmark, loopback, 30 pods: the app's first
// line 267 ms against 263 ms without preparing; two at a time: 217 ms
// against 266 ms, the first container's first line 91 ms either way).
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
	// sandbox is the sandbox attempt this worker made last (0: none):
	// only its later containers are prepared, tried names each once.
	sandbox int32
	tried   map[string]bool
	// launched holds the done channels of this sandbox's creations in
	// launch (turn) order: a creation waits for the one launched
	// cap(prepSem) before it, so a pod's creations begin in turn order,
	// at most that many at a time.
	launched []chan struct{}
}

// prepareAhead starts the creation of the plan's PrepareAhead containers
// (computed by planPrepareAhead) in the sandbox this worker made, each at
// most once per sandbox: nothing is started, each instance waits in w.prep
// for its turn (take) and is removed if the turn never comes.
func (w *worker) prepareAhead(p *Plan) {
	if !w.m.opts.PrepareAhead || w.m.prepSem == nil || w.prep.base == nil {
		return
	}
	st := &w.rec.Engine
	for _, item := range p.PrepareAhead {
		if !w.prep.mayLaunch(item.Container, st.SandboxAttempt) {
			continue
		}
		c := containerOf(w.rec.Pod, item)
		attempt := int32(0)
		if cur, _ := newest(st, c.Name, -1); cur != nil {
			attempt = cur.Attempt + 1
		}
		w.prep.launch(CreateRequest{Pod: w.rec.Pod, Container: c, Class: item.Class, Attempt: attempt,
			Sandbox: w.sandbox}, st.SandboxAttempt)
	}
}

// prunePrepared removes the prepared instances whose turn can no longer
// come as prepared, once the list they were prepared from changed: the
// pod terminates or lost its sandbox (no list), a plain init container
// failed, the container started or its definition changed (it left the
// list or its SpecHash changed).
func (w *worker) prunePrepared(last *Plan) {
	st := &w.rec.Engine
	var list []PrepareItem
	if last != nil && st.Terminating == nil && !w.finished && !w.deleted && w.sandboxReady {
		list = last.PrepareAhead
	}
	if slices.Equal(list, w.prepList) {
		return
	}
	w.prepList = list
	w.prep.prune(func(p *prepared) bool {
		return p.sandbox == st.SandboxAttempt && slices.ContainsFunc(list, func(item PrepareItem) bool {
			return item.Container == p.container && item.SpecHash == p.specHash
		})
	})
}

// madeSandbox allows the later containers of sandbox attempt sandbox, which
// this worker just made, to be prepared, each once.
func (s *preparedSet) madeSandbox(sandbox int32) {
	s.sandbox = sandbox
	clear(s.tried)
	s.launched = nil
}

// mayLaunch reports whether container may be prepared now in sandbox
// attempt sandbox: one this worker made, and not tried there yet.
func (s *preparedSet) mayLaunch(container string, sandbox int32) bool {
	return sandbox == s.sandbox && !s.tried[container]
}

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
	if s.tried == nil {
		s.tried = map[string]bool{}
	}
	s.tried[p.container] = true
	req.Ahead = true
	var prev chan struct{}
	if k := len(s.launched) - cap(s.m.prepSem); k >= 0 {
		prev = s.launched[k]
	}
	s.launched = append(s.launched, p.done)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(p.done)
		if prev != nil {
			select {
			case <-prev:
			case <-ctx.Done():
				p.err = ctx.Err()
				return
			}
		}
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
	p.abandon()
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

// prune removes the prepared instances keep says no to. Every one of them
// is abandoned before any is cancelled: a cancelled creation ends its wait
// for an earlier one (launched), and the next one must find itself abandoned
// rather than begin a creation that is removed right after.
func (s *preparedSet) prune(keep func(p *prepared) bool) {
	var gone []*prepared
	for name, p := range s.byName {
		if !keep(p) {
			delete(s.byName, name)
			p.abandon()
			gone = append(gone, p)
		}
	}
	for _, p := range gone {
		s.discard(p)
	}
}

// abandon makes sure p's creation never begins if it has not yet.
func (p *prepared) abandon() {
	p.mu.Lock()
	p.abandoned = true
	p.mu.Unlock()
}

// end removes every prepared instance and waits until they are gone:
// before the sandbox goes (pod finished, sandbox changed) and when the
// worker ends.
func (s *preparedSet) end() {
	s.prune(func(*prepared) bool { return false })
	s.wg.Wait()
	clear(s.discarding)
}
