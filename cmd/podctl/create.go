package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	batchv1 "k8s.io/api/batch/v1"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/api/client"
	"github.com/podrun/podrun/api/printer"
)

// newCreateCommand is `podctl create`; its one subcommand is kubectl's
// `create job NAME --from=cronjob/CJ`, which runs a CronJob now.
func newCreateCommand(g *globals) *cobra.Command {
	create := &cobra.Command{Use: "create", Short: "Create an object from another"}
	var from string
	job := &cobra.Command{
		Use:   "job NAME --from=cronjob/CJ",
		Short: "Run a CronJob's Job now, as kubectl create job --from does",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			kindName, cjName, ok := strings.Cut(from, "/")
			if !ok || cjName == "" {
				return fmt.Errorf("--from must be cronjob/NAME, not %q", from)
			}
			if k, err := kindByName(kindName); err != nil || k.res != client.CronJobs {
				return fmt.Errorf("from must be an existing cronjob: %q is not a cronjob", kindName)
			}
			c := g.client()
			var cj batchv1.CronJob
			if err := c.Get(cmd.Context(), client.CronJobs, g.namespace, cjName, &cj); err != nil {
				return err
			}
			var created batchv1.Job
			if err := c.Create(cmd.Context(), client.Jobs, g.namespace, api.ManualJob(&cj, args[0]), &created); err != nil {
				return err
			}
			if g.output == "" {
				fmt.Fprintf(g.Out, "%s created\n", printer.ResourceName(&created))
				return nil
			}
			p, err := g.printer()
			if err != nil {
				return err
			}
			return p.PrintObject(&created)
		},
	}
	job.Flags().StringVar(&from, "from", "", "the cronjob to instantiate: cronjob/NAME")
	_ = job.MarkFlagRequired("from")
	create.AddCommand(job)
	return create
}
