package app

import (
	"os"

	"go.uber.org/zap"
)

// importBinary is this executable, which imports image archives in a child
// process (runtime.ImportMain) so that the import's code and buffers do not
// stay resident in the daemon; "" (import in-process) when it cannot be
// found.
func importBinary(log *zap.Logger) string {
	exe, err := os.Executable()
	if err != nil {
		log.Warn("cannot find podrund's executable; image archives are imported in the daemon itself", zap.Error(err))
		return ""
	}
	return exe
}
