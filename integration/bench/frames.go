package bench

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// pageFrames is a set of physical page frames: the memory a group of
// processes holds, each page counted once however many of them map it.
// That is the group's summed PSS on a host where nothing outside the group
// maps its pages. Measured PSS splits a page with every process mapping
// it, outside the group too: on a shared machine every runc shim of every
// containerd maps the same shim binary, so the shims' PSS here depends on
// how many other shims happen to run.
type pageFrames map[uint64]struct{}

// errNoFrameNumbers: the kernel hides frame numbers from readers without
// CAP_SYS_ADMIN (they read as 0).
var errNoFrameNumbers = errors.New("/proc/PID/pagemap shows no page frame numbers (they need CAP_SYS_ADMIN)")

const (
	pagePresent = 1 << 63
	pfnMask     = 1<<55 - 1
	// pagemapChunk bounds one read of pagemap entries (8 bytes each).
	pagemapChunk = 1 << 16
)

// add adds the frames resident in pid's accessible mappings.
func (f pageFrames) add(pid int) error {
	maps, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return err
	}
	pm, err := os.Open(fmt.Sprintf("/proc/%d/pagemap", pid))
	if err != nil {
		return err
	}
	defer pm.Close()
	page := uint64(os.Getpagesize())
	present, numbered := 0, 0
	buf := make([]byte, 8*pagemapChunk)
	sc := bufio.NewScanner(bytes.NewReader(maps))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		// PROT_NONE reservations (the Go heap's) hold no pages.
		if len(fields) < 2 || strings.HasPrefix(fields[1], "---") {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if !ok || err1 != nil || err2 != nil {
			return fmt.Errorf("/proc/%d/maps: bad line %q", pid, sc.Text())
		}
		for p := start / page; p < end/page; p += pagemapChunk {
			n := min(end/page-p, pagemapChunk)
			got, err := pm.ReadAt(buf[:8*n], int64(p*8))
			if err != nil && got == 0 {
				break // [vsyscall] and the like cannot be read
			}
			for i := 0; i+8 <= got; i += 8 {
				e := binary.LittleEndian.Uint64(buf[i:])
				if e&pagePresent == 0 {
					continue
				}
				present++
				if pfn := e & pfnMask; pfn != 0 {
					numbered++
					f[pfn] = struct{}{}
				}
			}
		}
	}
	if present > 0 && numbered == 0 {
		return errNoFrameNumbers
	}
	return nil
}

// framesMiB is the size of the union of the processes' frames.
func framesMiB(pids ...int) (float64, error) {
	f := pageFrames{}
	for _, pid := range pids {
		if err := f.add(pid); err != nil {
			return 0, fmt.Errorf("page frames of %d: %w", pid, err)
		}
	}
	return round2(float64(len(f)) * float64(os.Getpagesize()) / (1 << 20)), nil
}
