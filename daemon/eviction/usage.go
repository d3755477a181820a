package eviction

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// DiskUsageUpTo is what the files below dir take on its file system, as
// du counts it: allocated blocks (a sparse file counts what it holds, not
// its length), hard links once, symbolic links not followed, and other
// file systems mounted below dir (a tmpfs, a bind mount) left out. A dir
// that does not exist uses nothing. With stop > 0 the walk ends as soon as
// the count passes stop, returning what it counted so far: once a part is
// over every limit that could judge it, the rest of the walk cannot change
// the verdict, so a pod filling its disk costs a walk of about its limit.
func DiskUsageUpTo(dir string, stop int64) (int64, error) {
	root, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	rootDev := devOf(root)
	type inode struct{ dev, ino uint64 }
	seen := map[inode]bool{}
	var total int64
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while walking
			}
			return err
		}
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		st, ok := info.Sys().(*syscall.Stat_t)
		if !ok {
			return nil
		}
		if uint64(st.Dev) != rootDev {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if st.Nlink > 1 && !d.IsDir() {
			key := inode{uint64(st.Dev), st.Ino}
			if seen[key] {
				return nil
			}
			seen[key] = true
		}
		total += st.Blocks * 512
		if stop > 0 && total > stop {
			return filepath.SkipAll
		}
		return nil
	})
	return total, err
}

func devOf(info fs.FileInfo) uint64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev)
	}
	return 0
}
