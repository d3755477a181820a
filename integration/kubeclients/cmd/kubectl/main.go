// Command kubectl is the real kubectl, built from k8s.io/kubectl at the
// release of podrun's k8s.io/api, so that the end-to-end tests drive
// podrund with the client its users have, not with an imitation.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
)

func main() {
	os.Exit(cli.Run(cmd.NewDefaultKubectlCommand()))
}
