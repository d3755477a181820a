package app

import (
	"github.com/podrun/podrun/daemon/secopts"
	"go.uber.org/zap"
)

// oomScoreLimit is secopts.DetectOOMScoreLimit, saying once in the log
// when containers' oom_score_adj must be clamped (no CAP_SYS_RESOURCE:
// LXC, a systemd unit's bounding set) or the check failed.
func oomScoreLimit(log *zap.Logger) secopts.OOMScoreLimit {
	oom, err := secopts.DetectOOMScoreLimit()
	if err != nil {
		log.Warn("cannot tell whether podrund may lower oom_score_adj; clamping containers to 0", zap.Error(err))
		return oom
	}
	if oom.Restricted {
		log.Warn("podrund lacks CAP_SYS_RESOURCE: containers' oom_score_adj is clamped to podrund's own, "+
			"Guaranteed and large Burstable pods rank no lower than podrund for the OOM killer",
			zap.Int("floor", oom.Floor))
	}
	return oom
}
