// Package app wires the bridge: it reads the environment once, builds the
// AWS clients, caches and stores at cold start, and hands the four functions
// (and the local stack) their handlers, each in the one skeleton of
// apigw.Handler. Function mains only call Main.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	awslambda "github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/crmbridge/crmbridge/shared/accounts"
	"github.com/crmbridge/crmbridge/shared/action"
	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/awsconf"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/escalation"
	"github.com/crmbridge/crmbridge/shared/inbound"
	"github.com/crmbridge/crmbridge/shared/message"
	"github.com/crmbridge/crmbridge/shared/obs"
	"github.com/crmbridge/crmbridge/shared/retry"
	"github.com/crmbridge/crmbridge/shared/route"
	"github.com/crmbridge/crmbridge/shared/secrets"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/source/generic"
	"github.com/crmbridge/crmbridge/shared/source/liveperson"
	"github.com/crmbridge/crmbridge/shared/source/sunshine"
	"github.com/crmbridge/crmbridge/shared/state"
	"github.com/crmbridge/crmbridge/shared/teams"
	"github.com/crmbridge/crmbridge/shared/tenant"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// DynamoDB is every DynamoDB call the functions make.
type DynamoDB interface {
	state.DB
}

// Deps is everything a handler needs, built once per execution environment.
type Deps struct {
	Config   Config
	Log      *slog.Logger
	Metrics  *obs.Metrics
	DB       DynamoDB
	Egress   *egress.Client // every outbound HTTP call
	Tenants  *tenant.Loader
	Secrets  *secrets.Cache
	Creds    *tenant.Credentials
	State    *state.Store
	Sources  *source.Registry
	Agent    *ultimate.Client
	Accounts *accounts.Resolver
	// Retry is the policy of every outbound call: the AI agent's and the
	// platforms'.
	Retry retry.Policy
	// Now is the clock, the one every part gets.
	Now func() time.Time
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
	// Sources replaces the platform adapters (tests with a fake platform).
	Sources *source.Registry
}

// Sources registers every platform adapter. log may be nil.
func Sources(eg *egress.Client, now func() time.Time, log *slog.Logger) *source.Registry {
	return source.NewRegistry(generic.New(eg, now), &sunshine.Adapter{HTTP: eg, Now: now, Log: log}, liveperson.New(eg, now))
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
	d := &Deps{Config: cfg, DB: db, Egress: eg, Now: now, Retry: pol}
	d.Log = obs.NewLogger(out, cfg.LogLevel, slog.String("service", opts.Service))
	d.Metrics = obs.NewMetrics(out, "crmbridge", opts.Service)
	d.Sources = opts.Sources
	if d.Sources == nil {
		d.Sources = Sources(eg, now, d.Log)
	}
	d.Tenants = &tenant.Loader{DB: db, Table: cfg.TenantsTable, TTL: cfg.ConfigTTL, Now: now, Hooks: Hooks(d.Sources, eg)}
	d.Secrets = secrets.New(sm, secrets.Options{TTL: cfg.SecretsTTL, Now: now, Allow: bridgeSecret})
	d.Creds = &tenant.Credentials{Loader: d.Tenants, Secrets: d.Secrets}
	d.State = &state.Store{DB: db, Table: cfg.StateTable, Now: now, DeadTTL: cfg.DeadLetterTTL}
	d.Agent = &ultimate.Client{HTTP: eg, Keys: d.Creds, DefaultBaseURL: cfg.UltimateBaseURL, Retry: pol}
	d.Accounts = &accounts.Resolver{Tenants: d.Tenants, Secrets: d.Creds, AgentSecrets: d.Creds, Log: d.Log}
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
// (AWS_ENDPOINT_URL points the clients at moto_server locally), with the
// retry policy of shared/awsconf: the same one the tests and the local stack
// use.
func LoadAWS(ctx context.Context) (aws.Config, error) {
	return awsconf.Load(ctx)
}

// Inbound returns the source-inbound function's logic.
func (d *Deps) Inbound() *inbound.Handler {
	return &inbound.Handler{
		Accounts: d.Accounts, State: d.State, Agent: d.Agent, Sources: d.Sources,
		Log: d.Log, Metrics: d.Metrics, Now: d.Now,
	}
}

// Escalation returns the webhook-escalation function's logic.
func (d *Deps) Escalation() *escalation.Handler {
	return &escalation.Handler{
		Accounts: d.Accounts, State: d.State, Sources: d.Sources,
		Retry: d.Retry, Log: d.Log, Metrics: d.Metrics, Now: d.Now,
	}
}

// Action returns the webhook-action function's logic.
func (d *Deps) Action() *action.Handler {
	return &action.Handler{
		Accounts: d.Accounts, Actions: d.Tenants, Secrets: d.Creds, Conversations: d.State, Sources: d.Sources,
		HTTP: d.Egress, Retry: d.Retry, Log: d.Log, Metrics: d.Metrics,
	}
}

// Message returns the webhook-message function's logic; fwd may be nil
// (then the single URL forwards nothing).
func (d *Deps) Message(fwd message.Forwarder) *message.Handler {
	return &message.Handler{
		Accounts: d.Accounts, State: d.State, Sources: d.Sources, Forward: fwd, Retry: d.Retry,
		Log: d.Log, Metrics: d.Metrics, Now: d.Now,
	}
}

// Handlers returns every function's Lambda handler, each the function's
// logic in the apigw.Handler skeleton, built once. fwd carries the single
// webhook URL's calls to the function that owns them; nil calls them
// in-process through this same map (the local stack, the tests).
func (d *Deps) Handlers(fwd message.Forwarder) map[string]apigw.LambdaHandler {
	hs := map[string]apigw.LambdaHandler{}
	if fwd == nil {
		fwd = LocalForwarder(hs)
	}
	serve := map[string]apigw.Func{
		route.SourceInbound:     d.Inbound().Serve,
		route.WebhookMessage:    d.Message(fwd).Serve,
		route.WebhookEscalation: d.Escalation().Serve,
		route.WebhookAction:     d.Action().Serve,
	}
	fallback, _ := route.Table.Default()
	for fn, s := range serve {
		h := &apigw.Handler{Name: fn, Serve: s, Log: d.Log, Now: d.Now}
		if fn == fallback.Target {
			h.Routes = route.Table // it answers the requests no route matches
		}
		hs[fn] = h.Invoke
	}
	return hs
}

// Main is the body of every function's main: read the environment, build
// the dependencies once, start the Lambda loop with the function's handler.
// A configuration error is logged once and ends the process, so the init
// failure shows in Lambda. webhook-message passes WithForwarder.
func Main(function string, opts ...MainOption) {
	var parts mainParts
	for _, o := range opts {
		o(&parts)
	}
	ctx := context.Background()
	log := obs.NewLogger(os.Stdout, os.Getenv("LOG_LEVEL"), slog.String("service", function))
	fail := func(msg string, err error) {
		log.Error(msg, slog.String("error", err.Error()))
		os.Exit(1)
	}
	cfg, err := ConfigFromEnv(os.Getenv)
	if err != nil {
		fail("invalid configuration", err)
	}
	awsCfg, err := LoadAWS(ctx)
	if err != nil {
		fail("AWS setup failed", err)
	}
	d := Build(cfg, dynamodb.NewFromConfig(awsCfg), secretsmanager.NewFromConfig(awsCfg), Options{Service: function})
	var fwd message.Forwarder
	if function == route.WebhookMessage {
		if cfg.EscalationFunction == "" || cfg.ActionFunction == "" {
			fail("handler setup failed", errors.New("ESCALATION_FUNCTION and ACTION_FUNCTION are required for the single webhook URL"))
		}
		if parts.newForwarder == nil {
			fail("handler setup failed", errors.New("webhook-message's main must pass app.WithForwarder for the single webhook URL"))
		}
		fwd = parts.newForwarder(awsCfg, map[string]string{
			route.WebhookEscalation: cfg.EscalationFunction, route.WebhookAction: cfg.ActionFunction,
		})
	}
	h, ok := d.Handlers(fwd)[function]
	if !ok {
		fail("handler setup failed", fmt.Errorf("no function %q (functions: %v)", function, route.Functions))
	}
	awslambda.Start(h)
}
