package containerd

import "testing"

// shimGroup keeps the pods apart by default and puts every pod of one
// namespace in one group with ShimPerNode, never two namespaces' pods.
func TestShimGroup(t *testing.T) {
	perPod := &Runtime{ns: "edge"}
	perNode := &Runtime{ns: "edge", opts: Options{ShimPerNode: true}}
	otherNode := &Runtime{ns: "lab", opts: Options{ShimPerNode: true}}
	for _, tc := range []struct {
		what string
		a, b string
		same bool
	}{
		{"two pods, pod grouping", perPod.shimGroup("uid-1"), perPod.shimGroup("uid-2"), false},
		{"one pod's containers, pod grouping", perPod.shimGroup("uid-1"), perPod.shimGroup("uid-1"), true},
		{"two pods, node grouping", perNode.shimGroup("uid-1"), perNode.shimGroup("uid-2"), true},
		{"two namespaces, node grouping", perNode.shimGroup("uid-1"), otherNode.shimGroup("uid-1"), false},
		{"node and pod grouping", perNode.shimGroup("uid-1"), perPod.shimGroup("uid-1"), false},
	} {
		if (tc.a == tc.b) != tc.same {
			t.Errorf("%s: groups %q and %q, want same=%v", tc.what, tc.a, tc.b, tc.same)
		}
	}
}
