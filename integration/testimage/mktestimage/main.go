// Command mktestimage writes podrun's busybox test image (busybox:1.28 and
// busybox:latest) as an OCI image-layout tarball, for scripts:
//
//	go run ./integration/testimage/mktestimage -o busybox.tar
//	podctl image import busybox.tar
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/podrun/podrun/integration/testimage"
)

func main() {
	out := flag.String("o", "busybox.tar", "output file")
	busybox := flag.String("busybox", testimage.DefaultBusybox, "static busybox binary to put in the image")
	names := flag.String("names", "", "comma-separated image names (default docker.io/library/busybox:1.28,docker.io/library/busybox:latest)")
	user := flag.String("user", "", "image config User")
	stop := flag.String("stop-signal", "", "image config StopSignal")
	flag.Parse()

	spec := testimage.Busybox()
	spec.Busybox = *busybox
	if *names != "" {
		spec.Names = strings.Split(*names, ",")
	}
	spec.User = *user
	spec.StopSignal = *stop
	if err := testimage.WriteFile(*out, spec); err != nil {
		fmt.Fprintln(os.Stderr, "mktestimage:", err)
		os.Exit(1)
	}
}
