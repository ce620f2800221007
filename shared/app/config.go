package app

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/crmbridge/crmbridge/shared/route"
	"github.com/crmbridge/crmbridge/shared/tenant"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// Config is the environment of every function.
type Config struct {
	TenantsTable    string
	StateTable      string
	UltimateBaseURL string
	LogLevel        string
	// LambdaLogLevel is Lambda's application log filter
	// (AWS_LAMBDA_LOG_LEVEL, set from the function's ApplicationLogLevel);
	// metrics are marked to pass it (obs.NewMetrics).
	LambdaLogLevel string
	Stage          string
	DeadLetterTTL  time.Duration
	ConfigTTL      time.Duration
	SecretsTTL     time.Duration
	// MetricsNamespace is the CloudWatch namespace of the EMF metrics;
	// default crmbridge. The template sets crmbridge/{stack name}, so two
	// stacks in one account never feed each other's alarms.
	MetricsNamespace   string
	EscalationFunction string // for the single webhook URL
	ActionFunction     string
	// InboundQueueURL and OutboundQueueURL are the SQS FIFO queues of
	// source-inbound and webhook-message (each function's own, and the
	// outbound one for the functions that queue a handover's barrier).
	InboundQueueURL  string
	OutboundQueueURL string
	// LocalEgress lets outbound calls and item URLs reach loopback (the
	// local stack's fakes on 127.0.0.1): EGRESS_LOCAL=1, honoured only with
	// STAGE=local. template.yaml sets neither, so a deployed function
	// refuses loopback, private and metadata addresses.
	LocalEgress bool
}

// ConfigFromEnv reads the environment, reporting every problem at once.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		TenantsTable:       getenv("TENANTS_TABLE"),
		StateTable:         getenv("STATE_TABLE"),
		UltimateBaseURL:    strings.TrimRight(getenv("ULTIMATE_BASE_URL"), "/"),
		LogLevel:           getenv("LOG_LEVEL"),
		LambdaLogLevel:     getenv("AWS_LAMBDA_LOG_LEVEL"),
		Stage:              getenv("STAGE"),
		EscalationFunction: getenv("ESCALATION_FUNCTION"),
		ActionFunction:     getenv("ACTION_FUNCTION"),
		MetricsNamespace:   getenv("METRICS_NAMESPACE"),
		InboundQueueURL:    getenv("INBOUND_QUEUE_URL"),
		OutboundQueueURL:   getenv("OUTBOUND_QUEUE_URL"),
	}
	var errs []error
	if c.TenantsTable == "" {
		errs = append(errs, errors.New("TENANTS_TABLE is required"))
	}
	if c.StateTable == "" {
		errs = append(errs, errors.New("STATE_TABLE is required"))
	}
	if c.UltimateBaseURL == "" {
		c.UltimateBaseURL = ultimate.DefaultBaseURL
	}
	switch v := getenv("EGRESS_LOCAL"); v {
	case "", "0":
	case "1":
		if c.Stage != "local" {
			errs = append(errs, fmt.Errorf("EGRESS_LOCAL=1 is for the local stack only and needs STAGE=local (STAGE is %q)", c.Stage))
		}
		c.LocalEgress = true
	default:
		errs = append(errs, fmt.Errorf("EGRESS_LOCAL must be 1 or unset, got %q", v))
	}
	if c.LogLevel == "" {
		c.LogLevel = "INFO"
	}
	if c.MetricsNamespace == "" {
		c.MetricsNamespace = DefaultMetricsNamespace
	} else if !validNamespace(c.MetricsNamespace) {
		errs = append(errs, fmt.Errorf("METRICS_NAMESPACE must be 1-255 letters, digits and . - _ / # : (got %q)", c.MetricsNamespace))
	}
	// Secret names are fixed by the tenant's keys (tenant.SecretPrefix) and
	// the template's grants; a deployment that still sets another prefix
	// would read secrets other than it expects.
	if p := getenv("SECRETS_PREFIX"); p != "" && p != tenant.SecretPrefix {
		errs = append(errs, fmt.Errorf("SECRETS_PREFIX is not configurable: secret names always start with %s (got %q)", tenant.SecretPrefix, p))
	}
	num := func(name string, def int, unit time.Duration) time.Duration {
		v := getenv(name)
		if v == "" {
			return time.Duration(def) * unit
		}
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			errs = append(errs, fmt.Errorf("%s must be a positive integer, got %q", name, v))
			return time.Duration(def) * unit
		}
		return time.Duration(n) * unit
	}
	c.DeadLetterTTL = num("DEAD_LETTER_TTL_DAYS", 14, 24*time.Hour)
	c.ConfigTTL = num("CONFIG_TTL_SECONDS", 60, time.Second)
	c.SecretsTTL = num("SECRETS_TTL_SECONDS", 300, time.Second)
	return c, errors.Join(errs...)
}

// DefaultMetricsNamespace is the metrics' namespace outside a stack.
const DefaultMetricsNamespace = "crmbridge"

// validNamespace is CloudWatch's rule for a namespace, less the spaces.
func validNamespace(s string) bool {
	if len(s) == 0 || len(s) > 255 || strings.HasPrefix(s, "AWS/") {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(".-_/#:", c)) {
			return false
		}
	}
	return true
}

// Needs reports what function cannot run without: the queue it
// acknowledges into and consumes.
func (c Config) Needs(function string) error {
	switch {
	case function == route.SourceInbound && c.InboundQueueURL == "":
		return errors.New("INBOUND_QUEUE_URL is required: source-inbound queues every event it accepts")
	case function == route.WebhookMessage && c.OutboundQueueURL == "":
		return errors.New("OUTBOUND_QUEUE_URL is required: webhook-message queues every message it accepts")
	}
	return nil
}
