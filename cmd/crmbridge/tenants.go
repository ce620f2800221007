package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/crmbridge/crmbridge/shared/app"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/tenant"
)

func (c *cli) tenants(ctx context.Context, args []string) error {
	stdout := c.stdout
	if len(args) == 0 {
		return errors.New("usage: crmbridge tenants validate|put|get|list [args]")
	}
	switch args[0] {
	case "validate":
		if len(args) < 2 {
			return errors.New("usage: crmbridge tenants validate FILE [FILE]")
		}
		_, err := validateFiles(args[1:], stdout)
		return err
	case "put":
		if len(args) < 2 {
			return errors.New("usage: crmbridge tenants put FILE [FILE]")
		}
		items, err := validateFiles(args[1:], stdout)
		if err != nil {
			return err
		}
		d, db, err := c.connect(ctx, c.stderr)
		if err != nil {
			return err
		}
		for _, it := range items {
			if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(d.Config.TenantsTable), Item: it.item}); err != nil {
				return fmt.Errorf("%s: %w", it.file, err)
			}
			fmt.Fprintf(stdout, "put %s\n", it.name)
		}
		return nil
	case "get":
		if len(args) < 2 || len(args) > 3 {
			return errors.New("usage: crmbridge tenants get PK [SK]")
		}
		sk := tenant.ConfigSK
		if len(args) == 3 {
			sk = args[2]
		}
		d, db, err := c.connect(ctx, c.stderr)
		if err != nil {
			return err
		}
		out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(d.Config.TenantsTable), Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: args[1]}, "sk": &types.AttributeValueMemberS{Value: sk},
		}})
		if err != nil {
			return err
		}
		if len(out.Item) == 0 {
			return fmt.Errorf("no item %s", tenant.Name(args[1], sk))
		}
		b, err := tenant.EncodeItemJSON(out.Item)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(stdout, string(b))
		return err
	case "list":
		if len(args) != 1 {
			return errors.New("usage: crmbridge tenants list")
		}
		d, db, err := c.connect(ctx, c.stderr)
		if err != nil {
			return err
		}
		p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: aws.String(d.Config.TenantsTable), ProjectionExpression: aws.String("pk, sk")})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return err
			}
			for _, it := range page.Items {
				pk, sk, _ := tenant.KeysOf(it)
				fmt.Fprintf(stdout, "%s\t%s\n", pk, sk)
			}
		}
		return nil
	default:
		return fmt.Errorf("unknown tenants command %q", args[0])
	}
}

type fileItem struct {
	file, name string
	item       tenant.Item
}

// validateFiles checks items with exactly the rules the functions apply at
// read time (app.Hooks: strict fields, the adapters' settings, teams,
// action specs, secret names owned by the item's tenant), and secret files
// by their names' rules and with the adapters' credential checks.
func validateFiles(files []string, stdout io.Writer) ([]fileItem, error) {
	cfg, err := env()
	if err != nil {
		return nil, err
	}
	// The functions' checks in the functions' mode: the local stack's items
	// (loopback URLs) pass only with EGRESS_LOCAL=1 and STAGE=local, which
	// `make run` sets; anything else is checked as deployed.
	eg := egress.New(egress.Options{Local: cfg.LocalEgress})
	reg := app.Sources(eg, time.Now, nil, nil)
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
			name, err := checkSecretFile(reg, b)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", f, err))
				continue
			}
			fmt.Fprintf(stdout, "ok  %s (secret %s)\n", f, name)
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

// checkSecretFile checks a secret file's name (it says whose secret it is)
// and its value for that kind of secret; errors never carry the value.
func checkSecretFile(reg *source.Registry, b []byte) (string, error) {
	s, ref, err := tenant.DecodeSecretFile(b)
	if err != nil {
		return "", err
	}
	switch ref.Kind {
	case tenant.SecretAgent:
		_, err = tenant.ParseAgentSecret(s.Name, []byte(s.SecretString))
	case tenant.SecretSource:
		a, ok := reg.Get(ref.Source)
		if !ok {
			return "", fmt.Errorf("secret %s: unknown source %q (known: %s)", s.Name, ref.Source, strings.Join(reg.Names(), ", "))
		}
		err = a.ValidateCredentials([]byte(s.SecretString))
	case tenant.SecretAction:
		var m map[string]any
		if json.Unmarshal([]byte(s.SecretString), &m) != nil || m == nil {
			err = fmt.Errorf("secret %s: must be a JSON object (its fields fill {{secret.<field>}})", s.Name)
		}
	}
	return s.Name, err
}
