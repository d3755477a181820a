package app

import (
	"github.com/podrun/podrun/daemon/secopts"
	"go.uber.org/zap"
)

// oomScoreLimit finds how low podrund may set containers' oom_score_adj
// and says once when it must clamp (no CAP_SYS_RESOURCE: LXC, a systemd
// unit's bounding set). If the check itself fails it assumes the clamp
// to podrund's default 0: a pod that starts with a higher score beats a
// Guaranteed pod runc cannot start.
func oomScoreLimit(log *zap.Logger) secopts.OOMScoreLimit {
	oom, err := secopts.DetectOOMScoreLimit()
	if err != nil {
		log.Warn("cannot tell whether podrund may lower oom_score_adj; clamping containers to 0", zap.Error(err))
		return secopts.OOMScoreLimit{Restricted: true}
	}
	if oom.Restricted {
		log.Warn("podrund lacks CAP_SYS_RESOURCE: containers' oom_score_adj is clamped to podrund's own, "+
			"Guaranteed and large Burstable pods rank no lower than podrund for the OOM killer",
			zap.Int("floor", oom.Floor))
	}
	return oom
}
