package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/crmbridge/crmbridge/shared/action"
	"github.com/crmbridge/crmbridge/shared/app"
	"github.com/crmbridge/crmbridge/shared/localstack"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/teams"
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
// read time, and secret files with the adapters' credential checks.
func validateFiles(files []string, stdout io.Writer) ([]fileItem, error) {
	reg := app.Sources(http.DefaultClient, time.Now, nil)
	var items []fileItem
	var errs []error
	sourcesBySecret := map[string]string{}
	var secrets []localstack.SecretFile
	var secretFiles []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(b, &probe); err != nil {
			errs = append(errs, fmt.Errorf("%s: not JSON: %w", f, err))
			continue
		}
		if _, ok := probe["Name"]; ok {
			var s localstack.SecretFile
			if err := json.Unmarshal(b, &s); err != nil || s.Name == "" || s.SecretString == "" {
				errs = append(errs, fmt.Errorf("%s: a secret file needs Name and SecretString", f))
				continue
			}
			secrets, secretFiles = append(secrets, s), append(secretFiles, f)
			continue
		}
		it, err := tenant.DecodeItemJSON(b)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f, err))
			continue
		}
		pk, sk, kind := tenant.KeysOf(it)
		switch kind {
		case tenant.KindSource:
			s, perr := tenant.ParseSource(it, reg.CheckSettings)
			err = perr
			if perr == nil && s.CredentialsSecret != "" {
				sourcesBySecret[s.CredentialsSecret] = s.Source
			}
		case tenant.KindAgent:
			_, err = tenant.ParseAgent(it, func(raw json.RawMessage) error { _, err := teams.Parse(raw); return err })
		case tenant.KindAction:
			_, err = tenant.ParseAction(it, action.Check)
		default:
			err = fmt.Errorf("item %s: unknown kind: pk must start with SOURCE# or AGENT#, sk must be CONFIG or ACTION#name", tenant.Name(pk, sk))
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f, err))
			continue
		}
		items = append(items, fileItem{file: f, name: tenant.Name(pk, sk), item: it})
		fmt.Fprintf(stdout, "ok  %s (%s)\n", f, tenant.Name(pk, sk))
	}
	for i, s := range secrets {
		err := checkSecret(reg, s, sourcesBySecret)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", secretFiles[i], err))
			continue
		}
		fmt.Fprintf(stdout, "ok  %s (secret %s)\n", secretFiles[i], s.Name)
	}
	return items, errors.Join(errs...)
}

func checkSecret(reg *source.Registry, s localstack.SecretFile, sourcesBySecret map[string]string) error {
	switch {
	case strings.HasPrefix(s.Name, "crmbridge/agents/"):
		_, err := tenant.ParseAgentSecret(s.Name, []byte(s.SecretString))
		return err
	case strings.HasPrefix(s.Name, "crmbridge/sources/"):
		name := sourcesBySecret[s.Name]
		if name == "" {
			parts := strings.Split(s.Name, "/")
			if len(parts) >= 3 {
				name = parts[2]
			}
		}
		a, ok := reg.Get(name)
		if !ok {
			return fmt.Errorf("secret %s: unknown source %q", s.Name, name)
		}
		return a.ValidateCredentials([]byte(s.SecretString))
	default:
		var m map[string]any
		if json.Unmarshal([]byte(s.SecretString), &m) != nil {
			return fmt.Errorf("secret %s: must be a JSON object", s.Name)
		}
		return nil
	}
}
