package supervisor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// pullPolicy is the container's policy, defaulted as the API server does.
func pullPolicy(c *corev1.Container) corev1.PullPolicy {
	if c.ImagePullPolicy != "" {
		return c.ImagePullPolicy
	}
	img := c.Image
	if i := strings.LastIndex(img, "@"); i >= 0 {
		return corev1.PullIfNotPresent
	}
	slash := strings.LastIndex(img, "/")
	colon := strings.LastIndex(img, ":")
	if colon <= slash || strings.HasSuffix(img, ":latest") {
		return corev1.PullAlways
	}
	return corev1.PullIfNotPresent
}

// ensureImage applies the pull policy inside a container's start (R27):
// Pulling/Pulled/Failed/BackOff events and the waiting reasons ErrImagePull,
// ImagePullBackOff and ErrImageNeverPull with the 10 s → 300 s pull back-off.
func (w *worker) ensureImage(ctx context.Context, c *corev1.Container) (ImageStatus, error) {
	policy := pullPolicy(c)
	st, err := w.m.rt.ImageStatus(ctx, c.Image)
	if err != nil {
		st = ImageStatus{}
	}
	switch {
	case policy == corev1.PullNever && !st.Present:
		msg := fmt.Sprintf("Container image %q is not present with pull policy of Never", c.Image)
		w.containerEvent(c.Name, corev1.EventTypeWarning, "ErrImageNeverPull", msg)
		return st, &StartError{Reason: "ErrImageNeverPull", Message: msg}
	case policy != corev1.PullAlways && st.Present:
		w.containerEvent(c.Name, corev1.EventTypeNormal, "Pulled",
			fmt.Sprintf("Container image %q already present on machine", c.Image))
		return st, nil
	}
	now := w.m.clk.Now()
	if wait, until := w.pulls.inBackoff(c.Image, now); wait {
		msg := fmt.Sprintf("Back-off pulling image %q", c.Image)
		w.containerEvent(c.Name, corev1.EventTypeNormal, "BackOff", msg)
		if st.Present {
			// Same fallback as a failed pull below: while pulls back off,
			// run the image that is there instead of refusing to restart.
			return st, nil
		}
		w.containerEvent(c.Name, corev1.EventTypeWarning, "Failed", "Error: ImagePullBackOff")
		w.retry(minTime(until, now.Add(errorRetry)))
		return st, &StartError{Reason: "ImagePullBackOff", Message: msg}
	}
	w.containerEvent(c.Name, corev1.EventTypeNormal, "Pulling", fmt.Sprintf("Pulling image %q", c.Image))
	w.publish(ctx) // a pull can be long: report what is going on now
	progress, endPull := w.pullReporter(ctx, c)
	pulled, perr := w.m.rt.PullImage(ctx, c.Image, progress)
	endPull()
	if perr != nil {
		w.pulls.failed(c.Image, now)
		// Like the kubelet's error retry: the next sync shows ImagePullBackOff
		// while the back-off lasts, then pulls again.
		w.retry(now.Add(errorRetry))
		reason, msg := pullFailure(c.Image, perr)
		w.containerEvent(c.Name, corev1.EventTypeWarning, "Failed", msg)
		if st.Present {
			// Always with a present image: run it, but say the pull failed.
			return st, nil
		}
		w.containerEvent(c.Name, corev1.EventTypeWarning, "Failed", "Error: ErrImagePull")
		return st, &StartError{Reason: reason, Message: msg}
	}
	w.pulls.succeeded(c.Image)
	d := w.m.clk.Since(now)
	w.containerEvent(c.Name, corev1.EventTypeNormal, "Pulled",
		fmt.Sprintf("Successfully pulled image %q in %s (%s including waiting). Image size: %d bytes.",
			c.Image, d, d, pulled.Size))
	return pulled, nil
}

// pullFailure words a failed pull as the kubelet does ("Failed to pull image
// \"X\": <cause>"). The runtime's own StartError is unwrapped so that its
// reason (ErrImagePull, InvalidImageName) is kept and neither the reason
// nor the cause appears twice in the message.
func pullFailure(image string, err error) (reason, msg string) {
	reason, cause := "ErrImagePull", err.Error()
	var se *StartError
	if errors.As(err, &se) {
		if se.Reason != "" {
			reason = se.Reason
		}
		cause = se.Message
		if se.Err != nil {
			cause += ": " + se.Err.Error()
		}
	}
	return reason, fmt.Sprintf("Failed to pull image %q: %s", image, cause)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
