package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/crmbridge/crmbridge/shared/action"
	"github.com/crmbridge/crmbridge/shared/app"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/tenant"
)

func tenantsCommand() *command {
	const path = "crmbridge tenants"
	return &command{
		name:    "tenants",
		summary: "tenant items in the Tenants table",
		help:    "Tenant items: the account → agent mapping, the agents' settings, their actions (DynamoDB JSON files, see events/tenant/).",
		subs: []*command{
			{name: "validate", args: "FILE...", summary: "check items and secret files offline, with the functions' own rules",
				setup: func(*flag.FlagSet) runFunc {
					return func(_ context.Context, c *cli, args []string) error {
						if err := nargs(path+" validate", "FILE...", args, 1, -1); err != nil {
							return err
						}
						_, err := validateFiles(args, c.stdout)
						return err
					}
				}},
			{name: "put", args: "[--dry-run] FILE...", summary: "validate, then write items to the Tenants table",
				help: "Every file is validated first; nothing is written unless all are valid. --dry-run shows what would change (as tenants diff) and writes nothing.",
				setup: func(fs *flag.FlagSet) runFunc {
					dry := fs.Bool("dry-run", false, "show what would change; write nothing")
					return func(ctx context.Context, c *cli, args []string) error {
						if err := nargs(path+" put", "[--dry-run] FILE...", args, 1, -1); err != nil {
							return err
						}
						items, err := validateFiles(args, c.stdout)
						if err != nil {
							return err
						}
						b, err := c.connect(ctx, c.stderr)
						if err != nil {
							return err
						}
						if *dry {
							_, err := diffItems(ctx, b, items, c.stdout)
							fmt.Fprintln(c.stdout, "dry run: nothing written")
							return err
						}
						for _, it := range items {
							if _, err := b.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(b.Deps.Config.TenantsTable), Item: it.item}); err != nil {
								return explain(err, it.file)
							}
							fmt.Fprintf(c.stdout, "put %s\n", it.name)
						}
						return nil
					}
				}},
			{name: "diff", args: "FILE...", summary: "show how the files differ from the items in the table",
				setup: func(*flag.FlagSet) runFunc {
					return func(ctx context.Context, c *cli, args []string) error {
						if err := nargs(path+" diff", "FILE...", args, 1, -1); err != nil {
							return err
						}
						items, err := validateFiles(args, io.Discard)
						if err != nil {
							return err
						}
						b, err := c.connect(ctx, c.stderr)
						if err != nil {
							return err
						}
						_, err = diffItems(ctx, b, items, c.stdout)
						return err
					}
				}},
			{name: "get", args: "PK [SK]", summary: "print one item (SK defaults to CONFIG)",
				setup: func(*flag.FlagSet) runFunc {
					return func(ctx context.Context, c *cli, args []string) error {
						if err := nargs(path+" get", "PK [SK]", args, 1, 2); err != nil {
							return err
						}
						sk := tenant.ConfigSK
						if len(args) == 2 {
							sk = args[1]
						}
						b, err := c.connect(ctx, c.stderr)
						if err != nil {
							return err
						}
						it, err := getItem(ctx, b, args[0], sk)
						if err != nil {
							return err
						}
						if it == nil {
							return fmt.Errorf("no item %s", tenant.Name(args[0], sk))
						}
						out, err := tenant.EncodeItemJSON(it)
						if err != nil {
							return err
						}
						_, err = fmt.Fprintln(c.stdout, string(out))
						return err
					}
				}},
			{name: "list", summary: "list items (pk, sk)",
				setup: func(*flag.FlagSet) runFunc {
					return func(ctx context.Context, c *cli, args []string) error {
						if err := nargs(path+" list", "", args, 0, 0); err != nil {
							return err
						}
						b, err := c.connect(ctx, c.stderr)
						if err != nil {
							return err
						}
						p := dynamodb.NewScanPaginator(b.DB, &dynamodb.ScanInput{TableName: aws.String(b.Deps.Config.TenantsTable), ProjectionExpression: aws.String("pk, sk")})
						for p.HasMorePages() {
							page, err := p.NextPage(ctx)
							if err != nil {
								return explain(err, "list "+b.Deps.Config.TenantsTable)
							}
							for _, it := range page.Items {
								pk, sk, _ := tenant.KeysOf(it)
								fmt.Fprintf(c.stdout, "%s\t%s\n", pk, sk)
							}
						}
						return nil
					}
				}},
			{name: "delete", args: "[--dry-run] [--force] PK [SK]", summary: "delete one item (SK defaults to CONFIG)",
				help: "An agent's CONFIG item that accounts still map to is refused unless --force: those accounts would answer agent_not_configured.",
				setup: func(fs *flag.FlagSet) runFunc {
					dry := fs.Bool("dry-run", false, "show the item that would be deleted; delete nothing")
					force := fs.Bool("force", false, "delete an agent item even though accounts map to it")
					return func(ctx context.Context, c *cli, args []string) error {
						if err := nargs(path+" delete", "[--dry-run] [--force] PK [SK]", args, 1, 2); err != nil {
							return err
						}
						pk, sk := args[0], tenant.ConfigSK
						if len(args) == 2 {
							sk = args[1]
						}
						return deleteItem(ctx, c, pk, sk, *dry, *force)
					}
				}},
		},
	}
}

func getItem(ctx context.Context, b *backend, pk, sk string) (tenant.Item, error) {
	out, err := b.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(b.Deps.Config.TenantsTable), ConsistentRead: aws.Bool(true), Key: key(pk, sk)})
	if err != nil {
		return nil, explain(err, "get "+tenant.Name(pk, sk))
	}
	if len(out.Item) == 0 {
		return nil, nil
	}
	return out.Item, nil
}

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk}}
}

func deleteItem(ctx context.Context, c *cli, pk, sk string, dry, force bool) error {
	name := tenant.Name(pk, sk)
	b, err := c.connect(ctx, c.stderr)
	if err != nil {
		return err
	}
	it, err := getItem(ctx, b, pk, sk)
	if err != nil {
		return err
	}
	if it == nil {
		return fmt.Errorf("no item %s", name)
	}
	if _, _, kind := tenant.KeysOf(it); kind == tenant.KindAgent && !force {
		users, err := accountsOf(ctx, b, strings.TrimPrefix(pk, "AGENT#"))
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return fmt.Errorf("accounts map to this agent: %s; remap or delete them first, or use --force", strings.Join(users, ", "))
		}
	}
	if dry {
		out, _ := tenant.EncodeItemJSON(it)
		fmt.Fprintf(c.stdout, "would delete %s:\n%s\ndry run: nothing deleted\n", name, out)
		return nil
	}
	_, err = b.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(b.Deps.Config.TenantsTable), Key: key(pk, sk),
		ConditionExpression: aws.String("attribute_exists(pk)"),
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fmt.Errorf("no item %s", name)
	}
	if err != nil {
		return explain(err, "delete "+name)
	}
	fmt.Fprintf(c.stdout, "deleted %s\n", name)
	return nil
}

// accountsOf lists the source accounts mapped to an agent.
func accountsOf(ctx context.Context, b *backend, agentID string) ([]string, error) {
	var out []string
	p := dynamodb.NewScanPaginator(b.DB, &dynamodb.ScanInput{TableName: aws.String(b.Deps.Config.TenantsTable), ProjectionExpression: aws.String("pk, sk, agentId")})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, explain(err, "scan "+b.Deps.Config.TenantsTable)
		}
		for _, it := range page.Items {
			pk, _, kind := tenant.KeysOf(it)
			if a, ok := it["agentId"].(*types.AttributeValueMemberS); ok && kind == tenant.KindSource && a.Value == agentID {
				out = append(out, pk)
			}
		}
	}
	return out, nil
}

// diffItems prints, per file item, whether the table has it as is, differs
// (a line diff of the DynamoDB JSON) or lacks it. It reports the count of
// items that would change.
func diffItems(ctx context.Context, b *backend, items []fileItem, w io.Writer) (int, error) {
	changed := 0
	for _, it := range items {
		pk, sk, _ := tenant.KeysOf(it.item)
		cur, err := getItem(ctx, b, pk, sk)
		if err != nil {
			return changed, err
		}
		want, err := tenant.EncodeItemJSON(it.item)
		if err != nil {
			return changed, err
		}
		if cur == nil {
			changed++
			fmt.Fprintf(w, "+ %s (%s): new\n", it.name, it.file)
			continue
		}
		have, err := tenant.EncodeItemJSON(cur)
		if err != nil {
			return changed, err
		}
		if string(have) == string(want) {
			fmt.Fprintf(w, "= %s (%s): unchanged\n", it.name, it.file)
			continue
		}
		changed++
		fmt.Fprintf(w, "~ %s (%s): table → file\n", it.name, it.file)
		for _, l := range lineDiff(strings.Split(string(have), "\n"), strings.Split(string(want), "\n")) {
			fmt.Fprintln(w, "  "+l)
		}
	}
	fmt.Fprintf(w, "%d of %d items would change\n", changed, len(items))
	return changed, nil
}

// lineDiff is a longest-common-subsequence diff: lines prefixed "- " (only
// in a), "+ " (only in b) or "  ". Items are small; a huge one is summed up.
func lineDiff(a, b []string) []string {
	if len(a)*len(b) > 4_000_000 {
		return []string{fmt.Sprintf("(%d lines → %d lines; too large to show)", len(a), len(b))}
	}
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out []string
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			out = append(out, "  "+a[i])
			i, j = i+1, j+1
		case i < len(a) && (j == len(b) || lcs[i+1][j] >= lcs[i][j+1]):
			out = append(out, "- "+a[i])
			i++
		default:
			out = append(out, "+ "+b[j])
			j++
		}
	}
	return withContext(out, 3)
}

// withContext keeps the changed lines and n lines around each; the rest
// become one "…" per gap.
func withContext(lines []string, n int) []string {
	keep := make([]bool, len(lines))
	for i, l := range lines {
		if !strings.HasPrefix(l, "  ") {
			for k := max(0, i-n); k <= min(len(lines)-1, i+n); k++ {
				keep[k] = true
			}
		}
	}
	var out []string
	for i, l := range lines {
		switch {
		case keep[i]:
			out = append(out, l)
		case i == 0 || keep[i-1]:
			out = append(out, "  …")
		}
	}
	return out
}

type fileItem struct {
	file, name string
	item       tenant.Item
}

// localEgress reports whether the functions' checks run in the local
// stack's mode (EGRESS_LOCAL=1 with STAGE=local), as `make run` sets.
func localEgress() (bool, error) {
	cfg, err := app.ConfigFromEnv(func(k string) string {
		switch k {
		case "TENANTS_TABLE", "STATE_TABLE":
			return "-" // not needed to check files
		}
		return os.Getenv(k)
	})
	return cfg.LocalEgress, err
}

// validateFiles checks items with exactly the rules the functions apply at
// read time (app.Hooks: strict fields, the adapters' settings, teams,
// action specs, secret names owned by the item's tenant), and secret files
// by their names' rules and with the functions' parsers of their values.
func validateFiles(files []string, stdout io.Writer) ([]fileItem, error) {
	local, err := localEgress()
	if err != nil {
		return nil, err
	}
	// The functions' checks in the functions' mode: the local stack's items
	// (loopback URLs) pass only with EGRESS_LOCAL=1 and STAGE=local, which
	// `make run` sets; anything else is checked as deployed.
	eg := egress.New(egress.Options{Local: local})
	reg := app.Sources(eg, time.Now, nil, nil, nil)
	hooks := app.Hooks(reg, eg)
	var items []fileItem
	var errs []error
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !json.Valid(b) {
			errs = append(errs, fmt.Errorf("%s: not JSON", f))
			continue
		}
		if tenant.IsSecretFile(b) {
			s, _, err := tenant.DecodeSecretFile(b)
			if err == nil {
				err = checkSecretValue(reg, s.Name, []byte(s.SecretString))
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", f, err))
				continue
			}
			fmt.Fprintf(stdout, "ok  %s (secret %s)\n", f, s.Name)
			continue
		}
		it, err := tenant.DecodeItemJSON(b)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f, err))
			continue
		}
		if _, err := hooks.Parse(it); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f, err))
			continue
		}
		pk, sk, _ := tenant.KeysOf(it)
		items = append(items, fileItem{file: f, name: tenant.Name(pk, sk), item: it})
		fmt.Fprintf(stdout, "ok  %s (%s)\n", f, tenant.Name(pk, sk))
	}
	return items, errors.Join(errs...)
}

// checkSecretValue checks a secret's value for the kind its name says, with
// the parsers the functions read it with; errors never carry the value.
func checkSecretValue(reg *source.Registry, name string, value []byte) error {
	ref, err := tenant.ParseSecretName(name)
	if err != nil {
		return err
	}
	switch ref.Kind {
	case tenant.SecretAgent:
		_, err = tenant.ParseAgentSecret(name, value)
	case tenant.SecretSource:
		a, ok := reg.Get(ref.Source)
		if !ok {
			return fmt.Errorf("secret %s: unknown source %q (known: %s)", name, ref.Source, strings.Join(reg.Names(), ", "))
		}
		err = a.ValidateCredentials(value)
	case tenant.SecretAction:
		if _, perr := action.ParseSecretFields(value); perr != nil {
			err = fmt.Errorf("secret %s: must be a JSON object (its fields fill {{secret.<field>}})", name)
		}
	}
	return err
}
