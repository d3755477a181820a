package app

import (
	"context"
	"sync"

	"github.com/podrun/podrun/daemon/objects"
	"github.com/podrun/podrun/supervisor/cronjob"
	"go.uber.org/zap"
	"k8s.io/utils/clock"
)

// cronJobRunner wires the CronJob controller (supervisor/cronjob) to the
// objects: it creates and deletes Jobs through the same path as the API,
// and hears of CronJob and Job changes from the store's change feed.
func cronJobRunner(objs *objects.Objects, clk clock.WithDelayedExecution, log *zap.Logger) func(context.Context) {
	cc := objs.CronJobControl()
	ctrl := cronjob.NewController(cronjob.Options{Jobs: cc, CronJobs: cc, Events: cc, Clock: clk, Logger: log})
	r := cronjob.NewRunner(ctrl, clk, log)
	return func(ctx context.Context) {
		var wg sync.WaitGroup
		wg.Go(func() { objs.FeedCronJobs(ctx, r) })
		r.Run(ctx)
		wg.Wait()
	}
}
