// Command swapper is the attacker of the subPath exchange tests: it swaps
// two paths with renameat2(RENAME_EXCHANGE) in a tight loop, so a directory
// and a symlink trade places atomically, over and over (the
// CVE-2021-25741 class). busybox has no renameat2, hence this static binary
// in the test image.
//
//	swapper A B [SECONDS]
//
// It prints "swapping" once started and runs for SECONDS (default 60).
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: swapper A B [SECONDS]")
		os.Exit(2)
	}
	secs := 60
	if len(os.Args) > 3 {
		n, err := strconv.Atoi(os.Args[3])
		if err != nil {
			fmt.Fprintln(os.Stderr, "swapper: SECONDS:", err)
			os.Exit(2)
		}
		secs = n
	}
	a, b := os.Args[1], os.Args[2]
	if err := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE); err != nil {
		fmt.Fprintln(os.Stderr, "swapper:", err)
		os.Exit(1)
	}
	fmt.Println("swapping")
	end := time.Now().Add(time.Duration(secs) * time.Second)
	n := 1
	for time.Now().Before(end) {
		for range 1000 {
			_ = unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
			n++
		}
	}
	// An even count leaves both paths as they were.
	if n%2 == 1 {
		_ = unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
	}
	fmt.Println("done", n)
}
