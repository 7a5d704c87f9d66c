package main

import (
	"github.com/spf13/cobra"

	"github.com/chipgate/chipgate/internal/server"
)

func newOpenAPICmd() *cobra.Command {
	return &cobra.Command{
		Use:   "openapi",
		Short: "Print the API's OpenAPI document (api/openapi.json is its output)",
		Long: `Print the OpenAPI document the server serves at /api/v1/openapi.json.
The repository keeps it as api/openapi.json; regenerate it after changing a route:

  go run ./cmd/chipgate openapi > api/openapi.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := cmd.OutOrStdout().Write(server.Spec())
			return err
		},
	}
}
