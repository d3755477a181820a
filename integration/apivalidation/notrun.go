package apivalidation

import (
	"github.com/podrun/podrun/api"
	"k8s.io/apimachinery/pkg/util/sets"
)

// withoutNotRun is v less its causes at or below a field podrun does not
// run: where both refuse, the rest must agree.
func withoutNotRun(v verdict) verdict {
	var kept []cause
	for _, c := range v.causes {
		if _, ok := api.NotRunReason(c.field); !ok {
			kept = append(kept, c)
		}
	}
	v.causes = kept
	return v
}

// notRun is podrun refusing a field it does not run (api.NotRun) where
// the API server accepts, or refuses too: podrun's other causes must then
// be among the API server's (which may judge the field further, or
// refuse a mount of a volume whose details it refused).
func notRun(kube, podrun verdict) bool {
	if podrun.code != 422 || (kube.code != 201 && kube.code != 422) {
		return false
	}
	kubeFields := sets.New(kube.fields()...)
	found := false
	for _, c := range podrun.causes {
		_, isNotRun := api.NotRunReason(c.field)
		found = found || isNotRun
		if !isNotRun && !kubeFields.Has(c.field) {
			return false
		}
	}
	return found
}
