package bench

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/api/client"
)

// ScaleResult is the scale measurement: ScalePods pods POSTed at once (one
// goroutine each) until every container of every pod runs, then the list
// latency of GET /api/v1/namespaces/NS/pods with all of them.
type ScaleResult struct {
	Pods            int     `json:"pods"`
	AllRunningSec   float64 `json:"allRunningSec"` // first apply → last pod running
	PerPod          Dist    `json:"perPod"`        // each pod's apply → running
	List            Dist    `json:"list"`
	ListBytes       int     `json:"listBytes"` // size of one list answer
	DeleteAllSec    float64 `json:"deleteAllSec"`
	SlowestDeleteMs float64 `json:"slowestDeleteMs"` // slowest answer to a DELETE request
}

func (r *run) scale(ctx context.Context, d *Daemon, pw *podWatch, ns string) error {
	pods := make([]*corev1.Pod, r.s.ScalePods)
	for i := range pods {
		pods[i] = threeContainerPod(fmt.Sprintf("scale-%d", i))
	}
	per, total, err := startPods(ctx, d, pw, ns, pods, len(pods), r.s.PhaseTimeout/2)
	if err != nil {
		return err
	}
	res := &ScaleResult{Pods: len(pods), AllRunningSec: round2(total.Seconds()), PerPod: Summarize(per)}
	r.res.Scale = res
	r.progress("scale: %d pods running after %v", len(pods), total.Round(time.Millisecond))
	settle(ctx, 2*time.Second)
	var lists []time.Duration
	for i := 0; i < r.s.Lists; i++ {
		var l corev1.PodList
		t0 := time.Now()
		if err := d.C.List(ctx, client.Pods, ns, &l); err != nil {
			return fmt.Errorf("list pods: %w", err)
		}
		lists = append(lists, time.Since(t0))
		if len(l.Items) != len(pods) {
			return fmt.Errorf("list returned %d pods, want %d", len(l.Items), len(pods))
		}
	}
	res.List = Summarize(lists)
	t0 := time.Now()
	slowest, err := deleteAll(ctx, d, ns)
	if err != nil {
		return err
	}
	res.DeleteAllSec, res.SlowestDeleteMs = round2(time.Since(t0).Seconds()), round2(float64(slowest)/1e6)
	return nil
}
