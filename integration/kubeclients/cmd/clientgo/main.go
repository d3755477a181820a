// Command clientgo drives podrund the way programs built on client-go do:
// typed clients with their default settings, shared informers and
// optimistic concurrency. Each subcommand checks one behaviour and exits
// non-zero, saying why, when podrund answers differently from the API
// server.
//
//	clientgo create   NS NAME   typed ConfigMap create (protobuf body) and get
//	clientgo informer NS        a ConfigMap informer syncs, sees one add and one delete
//	clientgo stale    NS NAME   an update with a stale resourceVersion gets 409
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
)

func main() {
	klog.InitFlags(nil) // -v=N shows client-go's own account of a request
	flag.Parse()
	if err := run(flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "clientgo:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("usage: clientgo create|informer|stale NS [NAME]")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))
	if err != nil {
		return err
	}
	// The typed clients' own defaults, as a program gets them; protobuf
	// is what they send when the server's discovery allows it.
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ns := args[1]
	switch args[0] {
	case "create":
		return create(ctx, cs, ns, arg(args, 2))
	case "informer":
		return informer(ctx, cs, ns)
	case "stale":
		return stale(ctx, cs, ns, arg(args, 2))
	}
	return fmt.Errorf("unknown subcommand %q", args[0])
}

func arg(args []string, i int) string {
	if i < len(args) {
		return args[i]
	}
	return "clientgo"
}

func create(ctx context.Context, cs *kubernetes.Clientset, ns, name string) error {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"made-by": "client-go"}},
		Data: map[string]string{"key": "value"}}
	made, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	if made.UID == "" || made.ResourceVersion == "" {
		return fmt.Errorf("create answered without uid or resourceVersion: %+v", made.ObjectMeta)
	}
	got, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get: %w", err)
	}
	if got.Data["key"] != "value" || got.UID != made.UID {
		return fmt.Errorf("get answered %+v, want the created object", got)
	}
	fmt.Printf("created %s/%s uid=%s resourceVersion=%s\n", ns, name, made.UID, made.ResourceVersion)
	return nil
}

// informer runs a shared ConfigMap informer, as controllers do: it must sync
// (list, then watch from the list's version) and deliver an add and a
// delete made after the sync exactly once each.
func informer(ctx context.Context, cs *kubernetes.Clientset, ns string) error {
	factory := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(ns))
	inf := factory.Core().V1().ConfigMaps().Informer()
	added, deleted := make(chan string, 16), make(chan string, 16)
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { added <- obj.(*corev1.ConfigMap).Name },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			deleted <- obj.(*corev1.ConfigMap).Name
		},
	}); err != nil {
		return err
	}
	// The informers run until stop closes; Shutdown waits for them.
	stop := make(chan struct{})
	factory.Start(stop)
	defer func() { close(stop); factory.Shutdown() }()
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return fmt.Errorf("the informer never synced")
	}
	initial := len(inf.GetStore().List())
	drain(added)

	name := fmt.Sprintf("informed-%d", time.Now().UnixNano())
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create: %w", err)
	}
	if err := expect(ctx, added, name, "add"); err != nil {
		return err
	}
	if err := cs.CoreV1().ConfigMaps(ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	if err := expect(ctx, deleted, name, "delete"); err != nil {
		return err
	}
	select {
	case extra := <-added:
		return fmt.Errorf("a second add for %q: the watch repeated an object", extra)
	case <-time.After(time.Second):
	}
	fmt.Printf("synced with %d configmaps; saw the add and the delete of %s\n", initial, name)
	return nil
}

func drain(ch chan string) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

func expect(ctx context.Context, ch chan string, name, what string) error {
	for {
		select {
		case got := <-ch:
			if got == name {
				return nil
			}
		case <-ctx.Done():
			return fmt.Errorf("the informer never saw the %s of %s", what, name)
		}
	}
}

// stale updates an object twice from the same read: the second update
// carries a resourceVersion that is no longer current and must be
// refused with 409 Conflict, or one of the two writes is silently lost.
func stale(ctx context.Context, cs *kubernetes.Clientset, ns, name string) error {
	cms := cs.CoreV1().ConfigMaps(ns)
	read, err := cms.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get: %w", err)
	}
	first := read.DeepCopy()
	first.Data = map[string]string{"writer": "first"}
	if _, err := cms.Update(ctx, first, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("first update: %w", err)
	}
	second := read.DeepCopy()
	second.Data = map[string]string{"writer": "second"}
	_, conflict := cms.Update(ctx, second, metav1.UpdateOptions{})
	if !apierrors.IsConflict(conflict) {
		return fmt.Errorf("update with stale resourceVersion %s: got %v, want 409 Conflict", read.ResourceVersion, conflict)
	}
	now, err := cms.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get after conflict: %w", err)
	}
	if now.Data["writer"] != "first" {
		return fmt.Errorf("after the conflict the object holds %v, want the first writer's data", now.Data)
	}
	fmt.Printf("stale update refused: %v\n", conflict)
	return nil
}
