package harness

import (
	"encoding/json"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// DeleteAndWait deletes the pod with `podctl delete pod --wait=true -o json`
// (extra flags appended, e.g. --grace-period) and returns the final object
// podctl prints once the pod is gone.
func (c *Client) DeleteAndWait(pod string, extra ...string) *corev1.Pod {
	c.T.Helper()
	out := c.MustPodctl(append([]string{"delete", "pod", pod, "--wait=true", "-o", "json"}, extra...)...)
	var p corev1.Pod
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		c.T.Fatalf("decode final object of podctl delete pod %s --wait -o json: %v\n%s", pod, err, out)
	}
	return &p
}

// TableRow returns the columns of the first row of a podctl table whose
// first column is name, or nil; columns are split at white space.
func TableRow(table, name string) []string {
	for _, line := range strings.Split(table, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == name {
			return f
		}
	}
	return nil
}

// TableHasRow tells whether a row of a podctl table whose first column is
// name has each of cols as one of its columns.
func TableHasRow(table, name string, cols ...string) bool {
	for _, line := range strings.Split(table, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != name {
			continue
		}
		all := true
		for _, c := range cols {
			all = all && slices.Contains(f, c)
		}
		if all {
			return true
		}
	}
	return false
}

// WantPodsRow fails the test, without stopping it, unless `podctl get
// pods` has a row for pod with each of cols; rules names what the row
// shows (e.g. "R92"), for the failure message.
func (c *Client) WantPodsRow(rules, pod string, cols ...string) {
	c.T.Helper()
	if table := c.MustPodctl("get", "pods"); !TableHasRow(table, pod, cols...) {
		want := strings.Join(append([]string{pod}, cols...), " ")
		if rules != "" {
			want += " (" + rules + ")"
		}
		c.T.Errorf("get pods:\n%s\nwant %s", table, want)
	}
}
