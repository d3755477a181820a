package nodeshutdown

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestCheckLogindDelay(t *testing.T) {
	for _, tc := range []struct {
		name    string
		limit   time.Duration
		err     error
		wantOK  bool
		wantFix string
	}{
		{name: "logind's default 5 s against 30 s of grace", limit: 5 * time.Second, wantFix: "InhibitDelayMaxSec=45"},
		{name: "the installed drop-in", limit: 45 * time.Second, wantOK: true},
		{name: "exactly the grace", limit: 30 * time.Second, wantOK: true},
		{name: "unreadable", err: errors.New("no such property"), wantOK: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			core, logs := observer.New(zap.InfoLevel)
			ok := CheckLogindDelay(zap.New(core), 30*time.Second, func() (time.Duration, error) { return tc.limit, tc.err })
			if ok != tc.wantOK {
				t.Fatalf("long enough = %v, want %v", ok, tc.wantOK)
			}
			warns := logs.FilterLevelExact(zap.WarnLevel).All()
			if tc.wantFix == "" {
				if len(warns) != 0 {
					t.Fatalf("warned: %v", warns[0].Message)
				}
				return
			}
			if len(warns) != 1 {
				t.Fatalf("%d warnings, want 1", len(warns))
			}
			if fix := warns[0].ContextMap()["fix"]; !strings.Contains(fix.(string), tc.wantFix) {
				t.Fatalf("fix %q does not say %q", fix, tc.wantFix)
			}
		})
	}
}
