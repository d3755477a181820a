// Package poll waits for a condition that other goroutines make true: the
// one deadline loop the unit tests share (the engine, the server and the
// probes all run in goroutines a test can only observe).
package poll

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// Within reports whether cond held within timeout, checking it at once and
// then every step.
func Within(timeout, step time.Duration, cond func() bool) bool {
	return wait.PollUntilContextTimeout(context.Background(), step, timeout, true,
		func(context.Context) (bool, error) { return cond(), nil }) == nil
}
