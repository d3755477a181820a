// Command gendefs writes daemon/openapi/definitions.json: the definitions
// of the served kinds built from openapi-gen's code (package generated),
// in the form daemon/openapi embeds. go generate ./daemon/openapi runs it
// after openapi-gen.
package main

import (
	"fmt"
	"os"

	"github.com/podrun/podrun/daemon/openapi"
	"github.com/podrun/podrun/daemon/openapi/internal/generated"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gendefs OUTPUT.json")
		os.Exit(2)
	}
	if err := write(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "gendefs:", err)
		os.Exit(1)
	}
}

func write(path string) error {
	defs, err := openapi.BuildDefinitions(generated.GetOpenAPIDefinitions)
	if err != nil {
		return err
	}
	b, err := openapi.EncodeDefinitions(defs)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
