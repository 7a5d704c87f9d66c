package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
)

// The operator commands set up a deployment without the demo: parties, their
// users, and tokens. They act as the system actor and leave audit records
// like any other command.

func newPartyCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "party", Short: "Add and list parties"}
	add := &cobra.Command{Use: "add", Short: "Register a party", Args: cobra.NoArgs}
	db := dbFlag(add, "")
	var in service.PartyRequest
	var role, class string
	add.Flags().StringVar(&in.Slug, "slug", "", "stable handle, e.g. bytedance")
	add.Flags().StringVar(&in.Name, "name", "", "legal name")
	add.Flags().StringVar(&role, "role", "", "vendor, export_authority, import_authority, buyer, lab, carrier or auditor")
	add.Flags().StringVar(&in.Country, "country", "", "ISO 3166-1 alpha-2 country of the headquarters")
	add.Flags().StringVar(&class, "class", "", "buyers: platform, cloud, sme, research, university or government")
	add.RunE = func(cmd *cobra.Command, _ []string) error {
		in.Role, in.Class = domain.Role(role), domain.BuyerClass(class)
		svc, done, err := openService(cmd, *db)
		if err != nil {
			return err
		}
		defer done()
		p, err := svc.CreateParty(cmd.Context(), domain.SystemActor, in)
		if err != nil {
			return flagError(err)
		}
		return printJSON(cmd, p)
	}
	list := &cobra.Command{Use: "list", Short: "List parties", Args: cobra.NoArgs}
	ldb := dbFlag(list, "")
	list.RunE = func(cmd *cobra.Command, _ []string) error {
		svc, done, err := openService(cmd, *ldb)
		if err != nil {
			return err
		}
		defer done()
		ps, err := svc.Parties(cmd.Context(), domain.SystemActor)
		if err != nil {
			return err
		}
		for _, p := range ps {
			fmt.Fprintf(cmd.OutOrStdout(), "%s  %-18s %-17s %s  %s\n", p.ID, p.Slug, p.Role, p.Country, p.Name)
		}
		return nil
	}
	cmd.AddCommand(add, list)
	return cmd
}

func newUserCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Add users to parties, list them and set their duties"}
	add := &cobra.Command{Use: "add", Short: "Add a user to a party with the duties given (none: it reads only)", Args: cobra.NoArgs}
	db := dbFlag(add, "")
	var in service.UserRequest
	add.Flags().StringVar(&in.Party, "party", "", "party id or slug")
	add.Flags().StringVar(&in.Name, "name", "", "the user's name")
	duties := dutyFlag(add)
	add.RunE = func(cmd *cobra.Command, _ []string) error {
		svc, done, err := openService(cmd, *db)
		if err != nil {
			return err
		}
		defer done()
		in.Duties = dutiesOf(*duties)
		u, err := svc.CreateUser(cmd.Context(), domain.SystemActor, in)
		if err != nil {
			return flagError(err)
		}
		return printJSON(cmd, u)
	}
	list := &cobra.Command{Use: "list", Short: "List a party's users and their duties", Args: cobra.NoArgs}
	ldb := dbFlag(list, "")
	lparty := list.Flags().String("party", "", "party id or slug")
	list.RunE = func(cmd *cobra.Command, _ []string) error {
		svc, done, err := openService(cmd, *ldb)
		if err != nil {
			return err
		}
		defer done()
		us, err := svc.Users(cmd.Context(), domain.SystemActor, *lparty)
		if err != nil {
			return flagError(err)
		}
		for _, u := range us {
			ds := make([]string, len(u.Duties))
			for i, d := range u.Duties {
				ds[i] = string(d)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s  %-40s %s\n", u.ID, u.Name, strings.Join(ds, ","))
		}
		return nil
	}
	set := &cobra.Command{Use: "duties", Short: "Replace a user's duties (no --duty: it reads only)", Args: cobra.NoArgs}
	sdb := dbFlag(set, "")
	sparty := set.Flags().String("party", "", "party id or slug")
	suser := set.Flags().String("user", "", "user id")
	sduties := dutyFlag(set)
	set.RunE = func(cmd *cobra.Command, _ []string) error {
		id, err := domain.ParseID(*suser)
		if err != nil {
			return fmt.Errorf("--user: %q is not a user id", *suser)
		}
		svc, done, err := openService(cmd, *sdb)
		if err != nil {
			return err
		}
		defer done()
		u, err := svc.SetDuties(cmd.Context(), domain.SystemActor, *sparty, id, dutiesOf(*sduties))
		if err != nil {
			return flagError(err)
		}
		return printJSON(cmd, u)
	}
	cmd.AddCommand(add, list, set)
	return cmd
}

// dutyFlag adds the repeatable --duty flag.
func dutyFlag(cmd *cobra.Command) *[]string {
	return cmd.Flags().StringArray("duty", nil, "a duty within the party: officer, approver or administrator (repeatable)")
}

// dutiesOf is the duties named by --duty flags.
func dutiesOf(raw []string) []domain.UserDuty {
	out := make([]domain.UserDuty, len(raw))
	for i, d := range raw {
		out[i] = domain.UserDuty(d)
	}
	return out
}

func newTokenCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Issue and revoke bearer tokens"}
	issue := &cobra.Command{Use: "issue", Short: "Issue a token for a user; prints the secret once", Args: cobra.NoArgs}
	db := dbFlag(issue, "")
	user := issue.Flags().String("user", "", "user id")
	label := issue.Flags().String("label", "operator", "what the token is for")
	ttl := issue.Flags().Duration("ttl", 0, "lifetime, e.g. 720h; 0 for none")
	issue.RunE = func(cmd *cobra.Command, _ []string) error {
		id, err := domain.ParseID(*user)
		if err != nil {
			return fmt.Errorf("--user: %q is not a user id", *user)
		}
		svc, done, err := openService(cmd, *db)
		if err != nil {
			return err
		}
		defer done()
		tok, err := svc.IssueToken(cmd.Context(), domain.SystemActor, id, *label, *ttl)
		if err != nil {
			return flagError(err)
		}
		return printJSON(cmd, tok)
	}
	revoke := &cobra.Command{Use: "revoke", Short: "Revoke a token at once", Args: cobra.NoArgs}
	rdb := dbFlag(revoke, "")
	tokenID := revoke.Flags().String("id", "", "token id")
	revoke.RunE = func(cmd *cobra.Command, _ []string) error {
		id, err := domain.ParseID(*tokenID)
		if err != nil {
			return fmt.Errorf("--id: %q is not a token id", *tokenID)
		}
		svc, done, err := openService(cmd, *rdb)
		if err != nil {
			return err
		}
		defer done()
		if err := svc.RevokeToken(cmd.Context(), domain.SystemActor, id); err != nil {
			return err
		}
		fmt.Fprintln(cmd.OutOrStdout(), "revoked", id)
		return nil
	}
	cmd.AddCommand(issue, revoke)
	return cmd
}

func openService(cmd *cobra.Command, dsn string) (*service.Service, func(), error) {
	st, err := openStore(cmd.Context(), dsn)
	if err != nil {
		return nil, nil, err
	}
	return service.New(st, service.Options{}), func() { st.Close() }, nil
}

// flagError turns a validation error into one line naming the flag.
func flagError(err error) error {
	if f := domain.ErrorFields(err); len(f) > 0 {
		if strings.HasPrefix(f[0].Path, "duties[") {
			return fmt.Errorf("--duty: %s", f[0].Message)
		}
		return fmt.Errorf("--%s: %s", f[0].Path, f[0].Message)
	}
	return err
}

func printJSON(cmd *cobra.Command, v any) error {
	enc := json.NewEncoder(cmd.OutOrStdout())
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
