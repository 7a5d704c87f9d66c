package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// execute runs cmd in-process as the chipgate binary would run it with
// args: stdin is its input, and what it prints goes to out and errOut
// (one buffer passed twice reads them interleaved, as a terminal shows
// them). Usage and errors are not printed: the test looks at the error.
func execute(cmd *cobra.Command, stdin string, out, errOut io.Writer, args ...string) error {
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	cmd.SetArgs(args)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	return cmd.ExecuteContext(context.Background())
}

// runChipgate runs the command line in-process and returns its output.
func runChipgate(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := execute(newRootCmd(), "", &out, &out, args...)
	return out.String(), err
}
