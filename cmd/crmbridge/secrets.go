package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/crmbridge/crmbridge/shared/app"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/tenant"
)

// maxSecretValue is Secrets Manager's limit of a secret string.
const maxSecretValue = 64 << 10

func secretsCommand() *command {
	const path = "crmbridge secrets put"
	const usage = "agent AGENT_ID | source SOURCE ACCOUNT | action AGENT_ID NAME | file SECRET_FILE..."
	return &command{
		name:    "secrets",
		summary: "secrets in Secrets Manager, named and shaped as the functions read them",
		subs: []*command{{
			name: "put", args: usage,
			summary: "write an agent's, an account's or an action's secret",
			help: `The name comes from the tenant's keys (the IAM grants allow exactly these):
  agent AGENT_ID           crmbridge/agents/AGENT_ID: {"apiKey": …, "webhookSecret": …[, "previousWebhookSecret": …]}
  source SOURCE ACCOUNT    crmbridge/sources/SOURCE/ACCOUNT: the platform's credentials (see its README section)
  action AGENT_ID NAME     crmbridge/actions/AGENT_ID/NAME: a JSON object whose fields fill {{secret.<field>}}
  file SECRET_FILE...      secret files ({"Name": …, "SecretString": …}, as in events/tenant/)
The value is read from --value-file (default: standard input), never from the command
line (it would stay in the shell's history), and checked with the functions' own
parsers before anything is written. An existing secret gets a new version.`,
			setup: func(fs *flag.FlagSet) runFunc {
				valueFile := fs.String("value-file", "-", "the secret's value (JSON); - is standard input")
				desc := fs.String("description", "", "the secret's description (new secrets)")
				dry := fs.Bool("dry-run", false, "check the value and print the name; write nothing")
				return func(ctx context.Context, c *cli, args []string) error {
					if len(args) == 0 {
						return usagef(path, "usage: %s %s", path, usage)
					}
					var puts []tenant.SecretFile
					switch kind, rest := args[0], args[1:]; kind {
					case "agent", "source", "action":
						want := map[string]int{"agent": 1, "source": 2, "action": 2}[kind]
						if len(rest) != want {
							return usagef(path, "usage: %s %s", path, usage)
						}
						name := map[string]func() string{
							"agent":  func() string { return tenant.AgentSecretName(rest[0]) },
							"source": func() string { return tenant.SourceSecretName(rest[0], rest[1]) },
							"action": func() string { return tenant.ActionSecretPrefix(rest[0]) + rest[len(rest)-1] },
						}[kind]()
						if _, err := tenant.ParseSecretName(name); err != nil {
							return err
						}
						value, err := readValue(*valueFile, c)
						if err != nil {
							return err
						}
						puts = append(puts, tenant.SecretFile{Name: name, SecretString: value, Description: *desc})
					case "file":
						if len(rest) == 0 {
							return usagef(path, "usage: %s file SECRET_FILE...", path)
						}
						for _, f := range rest {
							s, err := tenant.ReadSecretFile(f)
							if err != nil {
								return err
							}
							puts = append(puts, s)
						}
					default:
						return usagef(path, "unknown kind %q: agent, source, action or file", kind)
					}
					local, err := localEgress()
					if err != nil {
						return err
					}
					reg := app.Sources(egress.New(egress.Options{Local: local}), time.Now, nil, nil, nil)
					for _, s := range puts {
						if err := checkSecretValue(reg, s.Name, []byte(s.SecretString)); err != nil {
							return err
						}
					}
					if *dry {
						for _, s := range puts {
							fmt.Fprintf(c.stdout, "ok  %s (dry run: not written)\n", s.Name)
						}
						return nil
					}
					b, err := c.connect(ctx, c.stderr)
					if err != nil {
						return err
					}
					for _, s := range puts {
						verb, err := putSecret(ctx, b.SM, s)
						if err != nil {
							return err
						}
						fmt.Fprintf(c.stdout, "%s %s\n", verb, s.Name)
					}
					return nil
				}
			},
		}},
	}
}

// stdin is where `--value-file -` reads; tests replace it.
var stdin io.Reader = os.Stdin

func readValue(file string, c *cli) (string, error) {
	var r io.Reader = stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return "", err
		}
		defer f.Close()
		r = f
	} else if f, ok := stdin.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			fmt.Fprintln(c.stderr, "reading the secret's JSON value from standard input (end with Ctrl-D)…")
		}
	}
	b, err := io.ReadAll(io.LimitReader(r, maxSecretValue+1))
	if err != nil {
		return "", fmt.Errorf("read the value: %w", err)
	}
	if len(b) > maxSecretValue {
		return "", fmt.Errorf("the value is over %d bytes, Secrets Manager's limit", maxSecretValue)
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return "", errors.New("the value is empty (give it with --value-file FILE or on standard input)")
	}
	return string(b), nil
}

// putSecret creates the secret, or adds a version to an existing one.
func putSecret(ctx context.Context, sm SecretsAPI, s tenant.SecretFile) (string, error) {
	in := &secretsmanager.CreateSecretInput{Name: aws.String(s.Name), SecretString: aws.String(s.SecretString)}
	if s.Description != "" {
		in.Description = aws.String(s.Description)
	}
	if s.KmsKeyID != "" {
		in.KmsKeyId = aws.String(s.KmsKeyID)
	}
	_, err := sm.CreateSecret(ctx, in)
	var exists *smtypes.ResourceExistsException
	if errors.As(err, &exists) {
		if _, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(s.Name), SecretString: aws.String(s.SecretString)}); err != nil {
			return "", explain(err, "update secret "+s.Name)
		}
		return "updated", nil
	}
	if err != nil {
		return "", explain(err, "create secret "+s.Name)
	}
	return "created", nil
}
