package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/crmbridge/crmbridge/shared/action"
	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/escalation"
	"github.com/crmbridge/crmbridge/shared/inbound"
	"github.com/crmbridge/crmbridge/shared/message"
	"github.com/crmbridge/crmbridge/shared/obs"
	"github.com/crmbridge/crmbridge/shared/retry"
	"github.com/crmbridge/crmbridge/shared/secrets"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/source/generic"
	"github.com/crmbridge/crmbridge/shared/source/liveperson"
	"github.com/crmbridge/crmbridge/shared/source/sunshine"
	"github.com/crmbridge/crmbridge/shared/state"
	"github.com/crmbridge/crmbridge/shared/teams"
	"github.com/crmbridge/crmbridge/shared/tenant"
	"github.com/crmbridge/crmbridge/shared/ultimate"
	"github.com/crmbridge/crmbridge/shared/webhook"
)

// Function names, as in functions/ and the template's routes.
const (
	FnSourceInbound     = "source-inbound"
	FnWebhookMessage    = "webhook-message"
	FnWebhookEscalation = "webhook-escalation"
	FnWebhookAction     = "webhook-action"
)

// Routes is the HTTP API's route table. template.yaml declares the same
// routes (a test holds them together); the local stack serves these.
var Routes = []apigw.Route{
	{Method: "ANY", Pattern: "/sources/{source}/{account}", Target: FnSourceInbound},
	{Method: "ANY", Pattern: "/sources/{source}/{account}/{proxy+}", Target: FnSourceInbound},
	{Method: "POST", Pattern: "/webhooks/message", Target: FnWebhookMessage},
	{Method: "POST", Pattern: "/webhooks", Target: FnWebhookMessage},
	{Method: "POST", Pattern: "/webhooks/escalation", Target: FnWebhookEscalation},
	{Method: "POST", Pattern: "/webhooks/action", Target: FnWebhookAction},
}

// DynamoDB is every DynamoDB call the functions make.
type DynamoDB interface {
	state.DB
}

// Deps is everything a handler needs, built once per execution environment.
type Deps struct {
	Config  Config
	Log     *slog.Logger
	Metrics *obs.Metrics
	DB      DynamoDB
	Egress  *egress.Client // every outbound HTTP call
	Tenants *tenant.Loader
	Secrets *secrets.Cache
	Creds   *tenant.Credentials
	State   *state.Store
	Sources *source.Registry
	Agent   *ultimate.Client
	Gate    *webhook.Gate
	Now     func() time.Time
	AWS     aws.Config // set by Main, for clients only some functions need
}

// Options override parts of Deps (tests and the local stack).
type Options struct {
	Out     io.Writer // logs and metrics; default stdout
	Service string    // function name for logs and metrics
	// Egress replaces the outbound client (tests); default
	// egress.New with Config.LocalEgress and Now.
	Egress *egress.Client
	Now    func() time.Time
	Retry  *retry.Policy
}

// Sources registers every platform adapter. log may be nil.
func Sources(eg *egress.Client, now func() time.Time, log *slog.Logger) *source.Registry {
	g := generic.New(eg)
	g.Now = now
	lp := liveperson.New(eg)
	lp.Now = now
	return source.NewRegistry(g, &sunshine.Adapter{HTTP: eg, Now: now, Log: log}, lp)
}

// Build wires Deps over the given AWS clients.
func Build(cfg Config, db DynamoDB, sm secrets.API, opts Options) *Deps {
	out := opts.Out
	if out == nil {
		out = os.Stdout
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	eg := opts.Egress
	if eg == nil {
		eg = egress.New(egress.Options{Local: cfg.LocalEgress, Now: now})
	}
	pol := retry.Default
	if opts.Retry != nil {
		pol = *opts.Retry
	}
	d := &Deps{Config: cfg, DB: db, Egress: eg, Now: now}
	d.Log = obs.NewLogger(out, cfg.LogLevel, slog.String("service", opts.Service))
	d.Metrics = obs.NewMetrics(out, "crmbridge", opts.Service)
	d.Sources = Sources(eg, now, d.Log)
	d.Tenants = &tenant.Loader{DB: db, Table: cfg.TenantsTable, TTL: cfg.ConfigTTL, Now: now, Hooks: Hooks(d.Sources, eg)}
	d.Secrets = secrets.New(sm, secrets.Options{TTL: cfg.SecretsTTL, Now: now, Allow: bridgeSecret})
	d.Creds = &tenant.Credentials{Loader: d.Tenants, Secrets: d.Secrets}
	d.State = &state.Store{DB: db, Table: cfg.StateTable, Now: now, DeadTTL: cfg.DeadLetterTTL}
	d.Agent = &ultimate.Client{HTTP: eg, Keys: d.Creds, DefaultBaseURL: cfg.UltimateBaseURL, Retry: pol}
	d.Gate = &webhook.Gate{Tenants: d.Tenants, AgentSecrets: d.Creds, Secrets: d.Secrets, Log: d.Log}
	return d
}

// Hooks are the parsers of the item parts other packages own: the
// adapters' settings, teams, action specs. The loader and `crmbridge
// tenants validate` use the same ones.
func Hooks(reg *source.Registry, eg *egress.Client) tenant.Hooks {
	return tenant.Hooks{Settings: reg.ParseSettings, Teams: parseTeams, Action: action.Parser(eg), URL: eg.CheckURL}
}

func parseTeams(raw json.RawMessage) (any, error) { return teams.Parse(raw) }

// bridgeSecret admits only names of the tenant's naming rules to the
// secrets cache: a last line behind the per-tenant checks of the loader and
// tenant.Credentials.
func bridgeSecret(name string) error {
	_, err := tenant.ParseSecretName(name)
	return err
}

// LoadAWS reads the SDK configuration from the environment
// (AWS_ENDPOINT_URL points the clients at moto_server locally). Retries are
// pinned: the standard mode with 3 attempts.
func LoadAWS(ctx context.Context) (aws.Config, error) {
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx,
		awsconfig.WithRetryMode(aws.RetryModeStandard),
		awsconfig.WithRetryMaxAttempts(3),
	)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS config: %w", err)
	}
	return awsCfg, nil
}

// Inbound returns the source-inbound handler.
func (d *Deps) Inbound() *inbound.Handler {
	return &inbound.Handler{
		Tenants: d.Tenants, Secrets: d.Secrets, State: d.State, Agent: d.Agent, Sources: d.Sources,
		Log: d.Log, Metrics: d.Metrics, Now: d.Now, Routes: Routes,
	}
}

// Escalation returns the webhook-escalation handler.
func (d *Deps) Escalation() *escalation.Handler {
	return &escalation.Handler{
		Gate: d.Gate, State: d.State, Tenants: d.Tenants, Secrets: d.Secrets, Sources: d.Sources,
		Retry: d.Agent.Retry, Log: d.Log, Metrics: d.Metrics, Now: d.Now,
	}
}

// Action returns the webhook-action handler.
func (d *Deps) Action() *action.Handler {
	return &action.Handler{
		Gate: d.Gate, Actions: d.Tenants, Secrets: d.Creds, Conversations: d.State, Sources: d.Sources,
		HTTP: d.Egress, Retry: d.Agent.Retry, Log: d.Log, Metrics: d.Metrics, Now: d.Now,
	}
}

// Message returns the webhook-message handler; fwd may be nil.
func (d *Deps) Message(fwd message.Forwarder) *message.Handler {
	return &message.Handler{
		Gate: d.Gate, State: d.State, Sources: d.Sources, Forward: fwd, Retry: d.Agent.Retry,
		Log: d.Log, Metrics: d.Metrics, Now: d.Now,
	}
}

// Main is the body of every function's main: read the environment, build
// the dependencies once, start the Lambda loop. A configuration error is
// logged once and ends the process, so the init failure shows in Lambda.
func Main(service string, handler func(ctx context.Context, d *Deps) (any, error)) {
	ctx := context.Background()
	log := obs.NewLogger(os.Stdout, os.Getenv("LOG_LEVEL"), slog.String("service", service))
	cfg, err := ConfigFromEnv(os.Getenv)
	if err != nil {
		log.Error("invalid configuration", slog.String("error", err.Error()))
		os.Exit(1)
	}
	awsCfg, err := LoadAWS(ctx)
	if err != nil {
		log.Error("AWS setup failed", slog.String("error", err.Error()))
		os.Exit(1)
	}
	d := Build(cfg, dynamodb.NewFromConfig(awsCfg), secretsmanager.NewFromConfig(awsCfg), Options{Service: service})
	d.AWS = awsCfg
	h, err := handler(ctx, d)
	if err != nil {
		log.Error("handler setup failed", slog.String("error", err.Error()))
		os.Exit(1)
	}
	lambda.Start(h)
}
