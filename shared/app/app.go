// Package app wires the bridge: it reads the environment once, builds the
// AWS clients, caches and stores at cold start, and hands the four functions
// (and the local stack) their handlers, each in the one skeleton of
// apigw.Handler. Function mains only call Main.
package app

import (
	"cmp"
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
	"github.com/crmbridge/crmbridge/shared/deadletter"
	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/escalation"
	"github.com/crmbridge/crmbridge/shared/handover"
	"github.com/crmbridge/crmbridge/shared/inbound"
	"github.com/crmbridge/crmbridge/shared/lambdaevent"
	"github.com/crmbridge/crmbridge/shared/message"
	"github.com/crmbridge/crmbridge/shared/obs"
	"github.com/crmbridge/crmbridge/shared/queue"
	"github.com/crmbridge/crmbridge/shared/queue/sqsapi"
	"github.com/crmbridge/crmbridge/shared/retry"
	"github.com/crmbridge/crmbridge/shared/route"
	"github.com/crmbridge/crmbridge/shared/secrets"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/source/generic"
	"github.com/crmbridge/crmbridge/shared/source/liveperson"
	"github.com/crmbridge/crmbridge/shared/source/sunshine"
	"github.com/crmbridge/crmbridge/shared/source/twilio"
	"github.com/crmbridge/crmbridge/shared/state"
	"github.com/crmbridge/crmbridge/shared/teams"
	"github.com/crmbridge/crmbridge/shared/tenant"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// DynamoDB is every DynamoDB call the functions make.
type DynamoDB interface {
	state.DB
}

// SQS is every SQS call the functions make themselves; receiving and
// deleting are the event source mapping's (Lambda's, or the local stack's
// poller). The functions make them with sqsapi's Client, not the SDK's
// (NewSQS).
type SQS interface {
	queue.SendAPI
	queue.VisibilityAPI
}

var _ SQS = (*sqsapi.Client)(nil)

// NewSQS is the functions' SQS client over cfg and the environment
// (AWS_ENDPOINT_URL_SQS, then AWS_ENDPOINT_URL: fauxqs locally).
func NewSQS(cfg aws.Config) SQS { return sqsapi.New(cfg, os.Getenv) }

// Delivery is how the queue consumers retry.
type Delivery struct {
	Backoff queue.Backoff
	// AttemptTimeouts bound the AI agent's Chat API call by delivery
	// (inbound.DefaultAttemptTimeouts when empty).
	AttemptTimeouts []time.Duration
	// Now is the consumers' clock: records' ages, the retry horizon and
	// the fallback are measured on it. Default Deps.Now.
	Now func() time.Time
	// Concurrency bounds the conversations one invocation works on at
	// once; default 10.
	Concurrency int
	// Reserve is kept before the invocation's deadline to report
	// failures; default 2 s.
	Reserve time.Duration
	// Observe, when set, sees each record's outcome after the metrics and
	// the log line (the local stack's playground shows them).
	Observe func(function string, r queue.Record, o queue.Outcome)
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
	// Handover is the one handover path (escalate, the fallback) and the
	// transcript; its Outbound (the barrier's queue) is set where the
	// outbound queue is wired.
	Handover *handover.Handover
	// Retry is the policy of every outbound call: the AI agent's and the
	// platforms'.
	Retry retry.Policy
	// Now is the clock, the one every part gets.
	Now func() time.Time
	// SQS and the producers of the two queues; a producer is nil when its
	// queue's URL is not configured.
	SQS           SQS
	InboundQueue  *queue.Producer
	OutboundQueue *queue.Producer
	Delivery      Delivery
	// The handover half's hooks (shared/handover), set by whoever wires
	// it; each is optional and nil-safe. Fallback is source-inbound's
	// agent_unavailable handover, Barriers webhook-message's ordering of a
	// handover after the bot messages queued before it, Transcript both
	// consumers' record of delivered turns.
	Fallback   inbound.Fallback
	Barriers   message.Barriers
	Transcript inbound.Transcript
}

// Options override parts of Deps (tests and the local stack).
type Options struct {
	Out io.Writer // logs and metrics; default stdout
	// MetricsOut takes the metrics instead of Out (the CLI drops them).
	MetricsOut io.Writer
	Service    string // function name for logs and metrics
	// Egress replaces the outbound client (tests); default
	// egress.New with Config.LocalEgress and Now.
	Egress *egress.Client
	Now    func() time.Time
	Retry  *retry.Policy
	// Sources replaces the platform adapters (tests with a fake platform).
	Sources *source.Registry
	// SQS is the queues' client; Main builds one when a queue URL is set.
	SQS SQS
	// Delivery replaces the consumers' retry schedule (tests make it
	// short).
	Delivery *Delivery
}

// Sources registers every platform adapter. log and metrics may be nil; so
// may st where only settings are parsed (the CLI).
func Sources(eg *egress.Client, now func() time.Time, log *slog.Logger, metrics *obs.Metrics, st *state.Store) *source.Registry {
	lp := liveperson.New(eg, now)
	lp.Log, lp.Metrics = log, metrics
	var tw twilio.Store
	if st != nil {
		tw = st
	}
	return source.NewRegistry(generic.New(eg, now), &sunshine.Adapter{HTTP: eg, Now: now, Log: log}, lp, twilio.New(eg, now, tw, log))
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
	mout := opts.MetricsOut
	if mout == nil {
		mout = out
	}
	d.Metrics = obs.NewMetrics(mout, cmp.Or(cfg.MetricsNamespace, DefaultMetricsNamespace), opts.Service, cfg.LogLevel, cfg.LambdaLogLevel)
	d.State = &state.Store{DB: db, Table: cfg.StateTable, Now: now, DeadTTL: cfg.DeadLetterTTL}
	d.Sources = opts.Sources
	if d.Sources == nil {
		d.Sources = Sources(eg, now, d.Log, d.Metrics, d.State)
	}
	d.Tenants = &tenant.Loader{DB: db, Table: cfg.TenantsTable, TTL: cfg.ConfigTTL, Now: now, Hooks: Hooks(d.Sources, eg)}
	d.Secrets = secrets.New(sm, secrets.Options{TTL: cfg.SecretsTTL, Now: now, Allow: bridgeSecret})
	d.Creds = &tenant.Credentials{Loader: d.Tenants, Secrets: d.Secrets}
	d.Agent = &ultimate.Client{HTTP: eg, Keys: d.Creds, DefaultBaseURL: cfg.UltimateBaseURL, Retry: pol, Metrics: d.Metrics}
	d.Accounts = &accounts.Resolver{Tenants: d.Tenants, Secrets: d.Creds, AgentSecrets: d.Creds, Log: d.Log}
	d.Delivery = Delivery{Backoff: queue.DefaultBackoff}
	if opts.Delivery != nil {
		d.Delivery = *opts.Delivery
	}
	if d.Delivery.Now == nil {
		d.Delivery.Now = now
	}
	if d.SQS = opts.SQS; d.SQS != nil {
		if cfg.InboundQueueURL != "" {
			d.InboundQueue = &queue.Producer{API: d.SQS, URL: cfg.InboundQueueURL, Now: now}
		}
		if cfg.OutboundQueueURL != "" {
			d.OutboundQueue = &queue.Producer{API: d.SQS, URL: cfg.OutboundQueueURL, Now: now}
		}
	}
	d.Handover = &handover.Handover{State: d.State, Sources: d.Sources, Retry: pol, Log: d.Log, Metrics: d.Metrics, Now: now, Notify: handover.NewNotifier()}
	if d.OutboundQueue != nil {
		// Handovers wait for the bot messages queued before them.
		d.Handover.Outbound = d.OutboundQueue
	}
	d.Fallback, d.Barriers, d.Transcript = d.Handover, d.Handover, d.Handover
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
		Accounts: d.Accounts, State: d.State, Agent: d.Agent, Queue: producer(d.InboundQueue), Sources: d.Sources,
		Log: d.Log, Metrics: d.Metrics, Now: d.Now,
		Fallback: d.Fallback, Transcript: d.Transcript, AttemptTimeouts: d.Delivery.AttemptTimeouts,
	}
}

// producer keeps a missing producer a nil *queue.Producer inside the
// interface, whose Send says the queue is not configured (a 503), instead
// of a nil interface that would panic.
func producer(p *queue.Producer) *queue.Producer {
	if p == nil {
		return &queue.Producer{}
	}
	return p
}

// Escalation returns the webhook-escalation function's logic.
func (d *Deps) Escalation() *escalation.Handler {
	return &escalation.Handler{
		Accounts: d.Accounts, Handover: d.Handover, Sources: d.Sources,
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
	h := &message.Handler{
		Accounts: d.Accounts, State: d.State, Queue: producer(d.OutboundQueue), Sources: d.Sources, Forward: fwd, Retry: d.Retry,
		Log: d.Log, Metrics: d.Metrics, Now: d.Now, Barriers: d.Barriers,
	}
	if d.Transcript != nil {
		h.Transcript = d.Transcript
	}
	return h
}

// Consumer returns the queue side of source-inbound or webhook-message:
// the Lambda handler of its event source mapping; nil for the functions
// without a queue.
func (d *Deps) Consumer(function string) *queue.Consumer {
	var (
		handle func(context.Context, queue.Record) queue.Outcome
		kind   string
		url    string
	)
	switch function {
	case route.SourceInbound:
		handle, kind, url = d.Inbound().Deliver, state.DeadInbound, d.Config.InboundQueueURL
	case route.WebhookMessage:
		handle, kind, url = d.Message(nil).Deliver, state.DeadOutbound, d.Config.OutboundQueueURL
	default:
		return nil
	}
	keeper := &deadletter.Keeper{Store: d.State, Kind: kind, Log: d.Log, Metrics: d.Metrics}
	c := &queue.Consumer{
		Handle: handle, Bury: keeper.Bury, MaxAge: d.maxAge, URL: url,
		Backoff: d.Delivery.Backoff, Concurrency: d.Delivery.Concurrency, Reserve: d.Delivery.Reserve,
		Now: d.Delivery.Now, Log: d.Log,
	}
	if d.SQS != nil {
		c.Visibility = d.SQS
	}
	logMsg := function + " record"
	c.Observe = func(r queue.Record, o queue.Outcome) {
		d.Metrics.Count("QueueRecords", 1, map[string]string{"Function": function, "Outcome": o.Label()})
		if o.IsDone() {
			d.Metrics.Millis("DeliveryAge", r.Elapsed(), map[string]string{"Function": function})
		}
		attrs := []slog.Attr{
			slog.String("messageId", r.MessageID), slog.String("kind", r.Kind), slog.String("key", r.Key),
			slog.String("pcid", r.PCID), slog.Int("receives", r.Receives), slog.String("outcome", o.Label()),
			slog.Int64("ageMs", r.Elapsed().Milliseconds()),
		}
		apigw.LogLine(context.Background(), d.Log, logMsg, attrs, o.Err(), d.Delivery.Now().Sub(r.At))
		if d.Delivery.Observe != nil {
			d.Delivery.Observe(function, r, o)
		}
	}
	return c
}

// maxAge is a record's retry horizon: its account's maximum age.
func (d *Deps) maxAge(ctx context.Context, r queue.Record) time.Duration {
	conv, err := source.ParsePCID(r.PCID)
	if err != nil {
		return 0
	}
	acct, err := d.Accounts.Account(ctx, conv.Source, conv.Account, "")
	if err != nil {
		return 0
	}
	return acct.MaxAge
}

// Replayer puts dead letters back on the queues configured.
func (d *Deps) Replayer() *deadletter.Replayer {
	qs := map[string]deadletter.Sender{}
	if d.InboundQueue != nil {
		qs[state.DeadInbound] = d.InboundQueue
	}
	if d.OutboundQueue != nil {
		qs[state.DeadOutbound] = d.OutboundQueue
	}
	return &deadletter.Replayer{Store: d.State, Queues: qs}
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
		h := &apigw.Handler{Name: fn, Serve: s, Log: d.Log, Now: d.Now, Metrics: d.Metrics}
		if fn == fallback.Target {
			h.Routes = route.Table // it answers the requests no route matches
		}
		hs[fn] = h.Invoke
	}
	return hs
}

// Entry is a function's Lambda entry point: one handler for both of its
// event sources (API Gateway's HTTP API, and for source-inbound and
// webhook-message the SQS event source mapping), told apart by the
// event's shape.
type Entry func(ctx context.Context, payload json.RawMessage) (any, error)

// Entries returns every function's Entry, built once; fwd as for Handlers.
func (d *Deps) Entries(fwd message.Forwarder) map[string]Entry {
	out := map[string]Entry{}
	for fn, h := range d.Handlers(fwd) {
		out[fn] = dispatch(fn, h, d.Consumer(fn))
	}
	return out
}

// errNotAnEvent is a payload that is neither an HTTP API nor an SQS event.
var errNotAnEvent = errors.New("the payload is neither an HTTP API (2.0) event nor an SQS event")

func dispatch(function string, h apigw.LambdaHandler, c *queue.Consumer) Entry {
	return func(ctx context.Context, payload json.RawMessage) (any, error) {
		var ev lambdaevent.Event
		if err := lambdaevent.Decode(payload, &ev); err != nil {
			return nil, fmt.Errorf("%s: %w: %v", function, errNotAnEvent, err)
		}
		switch {
		case len(ev.Records) > 0 && ev.Records[0].EventSource == "aws:sqs":
			if c == nil {
				return nil, fmt.Errorf("%s has no queue, but got an SQS event", function)
			}
			return c.ConsumeMessages(ctx, ev.Records)
		case ev.RouteKey != "":
			return h(ctx, ev.APIGatewayV2HTTPRequest)
		default:
			return nil, fmt.Errorf("%s: %w", function, errNotAnEvent)
		}
	}
}

// Main is the body of every function's main: read the environment, build
// the dependencies once, start the Lambda loop with the function's entry.
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
	if err == nil {
		err = cfg.Needs(function)
	}
	if err != nil {
		fail("invalid configuration", err)
	}
	awsCfg, err := LoadAWS(ctx)
	if err != nil {
		fail("AWS setup failed", err)
	}
	buildOpts := Options{Service: function}
	if cfg.InboundQueueURL != "" || cfg.OutboundQueueURL != "" {
		buildOpts.SQS = NewSQS(awsCfg)
	}
	d := Build(cfg, dynamodb.NewFromConfig(awsCfg), secretsmanager.NewFromConfig(awsCfg), buildOpts)
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
	entry, ok := d.Entries(fwd)[function]
	if !ok {
		fail("handler setup failed", fmt.Errorf("no function %q (functions: %v)", function, route.Functions))
	}
	awslambda.Start(entry)
}
