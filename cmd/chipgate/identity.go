package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
)

// newIdentityCmd configures parties' single sign-on: their OpenID Connect
// provider and the mappings of its subjects and groups to their users
// (the operator's equivalents of /api/v1/parties/{ref}/identity-…).
func newIdentityCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "identity", Short: "Configure a party's identity provider (single sign-on) and map its people to users"}

	set := &cobra.Command{Use: "provider", Short: "Set a party's OpenID Connect provider (the client secret is read from a file, never a flag)", Args: cobra.NoArgs}
	db := dbFlag(set, "")
	var party, secretFile string
	var in service.IdentityProviderRequest
	set.Flags().StringVar(&party, "party", "", "party id or slug")
	set.Flags().StringVar(&in.Issuer, "issuer", "", "the provider's issuer URL, exactly as its ID tokens name it")
	set.Flags().StringVar(&in.ClientID, "client-id", "", "chipgate's client id at the provider")
	set.Flags().StringVar(&secretFile, "client-secret-file", "", "file holding the client secret (- for stdin); omit to keep the one configured")
	set.Flags().StringVar(&in.GroupsClaim, "groups-claim", "", "the ID token claim listing groups (default groups)")
	set.Flags().StringVar(&in.Name, "name", "", `shown on the sign-in page: "Sign in with <name>"`)
	set.RunE = func(cmd *cobra.Command, _ []string) error {
		if secretFile != "" {
			var b []byte
			var err error
			if secretFile == "-" {
				b, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), 4096))
			} else {
				b, err = os.ReadFile(secretFile)
			}
			if err != nil {
				return fmt.Errorf("--client-secret-file: %w", err)
			}
			in.ClientSecret = strings.TrimRight(string(b), "\r\n")
		}
		svc, done, err := openService(cmd, *db)
		if err != nil {
			return err
		}
		defer done()
		p, err := svc.SetIdentityProvider(cmd.Context(), domain.SystemActor, party, in)
		if err != nil {
			if f := domain.ErrorFields(err); len(f) > 0 && f[0].Path == "client_secret" {
				return fmt.Errorf("--client-secret-file: %s", f[0].Message)
			}
			return flagError(err)
		}
		return printJSON(cmd, p)
	}

	mp := &cobra.Command{Use: "map", Short: "Map a subject or a group of the party's provider to one of its users", Args: cobra.NoArgs}
	mdb := dbFlag(mp, "")
	var mparty, user string
	var min service.MappingRequest
	mp.Flags().StringVar(&mparty, "party", "", "party id or slug")
	mp.Flags().StringVar(&min.Subject, "subject", "", "the person's subject (sub claim) at the provider")
	mp.Flags().StringVar(&min.Group, "group", "", "a group (a value of the groups claim)")
	mp.Flags().StringVar(&user, "user", "", "the id of the party's user they sign in as")
	mp.RunE = func(cmd *cobra.Command, _ []string) error {
		id, err := domain.ParseID(user)
		if err != nil {
			return fmt.Errorf("--user: %q is not a user id", user)
		}
		min.User = id
		svc, done, err := openService(cmd, *mdb)
		if err != nil {
			return err
		}
		defer done()
		m, err := svc.CreateIdentityMapping(cmd.Context(), domain.SystemActor, mparty, min)
		if err != nil {
			return flagError(err)
		}
		return printJSON(cmd, m)
	}

	list := &cobra.Command{Use: "mappings", Short: "List a party's mappings", Args: cobra.NoArgs}
	ldb := dbFlag(list, "")
	lparty := list.Flags().String("party", "", "party id or slug")
	list.RunE = func(cmd *cobra.Command, _ []string) error {
		svc, done, err := openService(cmd, *ldb)
		if err != nil {
			return err
		}
		defer done()
		ms, err := svc.IdentityMappings(cmd.Context(), domain.SystemActor, *lparty)
		if err != nil {
			return flagError(err)
		}
		for _, m := range ms {
			fmt.Fprintf(cmd.OutOrStdout(), "%s  %-7s %-40s %s\n", m.ID, m.Kind, m.Value, m.UserID)
		}
		return nil
	}

	unmap := &cobra.Command{Use: "unmap", Short: "Remove a mapping: its subject or group signs in no more", Args: cobra.NoArgs}
	udb := dbFlag(unmap, "")
	uparty := unmap.Flags().String("party", "", "party id or slug")
	uid := unmap.Flags().String("id", "", "mapping id")
	unmap.RunE = func(cmd *cobra.Command, _ []string) error {
		id, err := domain.ParseID(*uid)
		if err != nil {
			return fmt.Errorf("--id: %q is not a mapping id", *uid)
		}
		svc, done, err := openService(cmd, *udb)
		if err != nil {
			return err
		}
		defer done()
		if err := svc.DeleteIdentityMapping(cmd.Context(), domain.SystemActor, *uparty, id); err != nil {
			return flagError(err)
		}
		fmt.Fprintln(cmd.OutOrStdout(), "unmapped", id)
		return nil
	}
	cmd.AddCommand(set, mp, list, unmap)
	return cmd
}
