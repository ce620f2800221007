package app

import (
	"strings"
	"testing"
	"time"
)

func TestConfigFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	c, err := ConfigFromEnv(env(map[string]string{"TENANTS_TABLE": "t", "STATE_TABLE": "s", "ULTIMATE_BASE_URL": "https://x.example/", "DEAD_LETTER_TTL_DAYS": "3"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.UltimateBaseURL != "https://x.example" || c.DeadLetterTTL != 72*time.Hour || c.ConfigTTL != time.Minute || c.LogLevel != "INFO" {
		t.Fatalf("config = %+v", c)
	}
	if _, err := ConfigFromEnv(env(map[string]string{"TENANTS_TABLE": "t", "STATE_TABLE": "s", "SECRETS_PREFIX": "crmbridge/"})); err != nil {
		t.Fatalf("the fixed prefix spelt out: %v", err)
	}
	_, err = ConfigFromEnv(env(map[string]string{"CONFIG_TTL_SECONDS": "soon", "SECRETS_PREFIX": "staging/"}))
	for _, want := range []string{"TENANTS_TABLE is required", "STATE_TABLE is required", `CONFIG_TTL_SECONDS must be a positive integer, got "soon"`,
		`SECRETS_PREFIX is not configurable: secret names always start with crmbridge/ (got "staging/")`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q (all problems are reported at once)", err, want)
		}
	}
}

func TestConfigLocalEgress(t *testing.T) {
	base := map[string]string{"TENANTS_TABLE": "t", "STATE_TABLE": "s"}
	tests := []struct {
		stage, v string
		local    bool
		err      string
	}{
		{stage: "prod", v: "", local: false},
		{stage: "local", v: "", local: false},
		{stage: "local", v: "0", local: false},
		{stage: "local", v: "1", local: true},
		{stage: "prod", v: "1", err: "EGRESS_LOCAL=1 is for the local stack only and needs STAGE=local"},
		{stage: "", v: "1", err: "needs STAGE=local"},
		{stage: "local", v: "yes", err: `EGRESS_LOCAL must be 1 or unset, got "yes"`},
	}
	for _, tt := range tests {
		m := map[string]string{"STAGE": tt.stage, "EGRESS_LOCAL": tt.v}
		for k, v := range base {
			m[k] = v
		}
		c, err := ConfigFromEnv(func(k string) string { return m[k] })
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%+v: err %v, want %q", tt, err, tt.err)
			}
			continue
		}
		if err != nil || c.LocalEgress != tt.local {
			t.Errorf("%+v: LocalEgress %v, %v", tt, c.LocalEgress, err)
		}
	}
}

func TestConfigMetricsNamespace(t *testing.T) {
	tests := []struct{ v, want, err string }{
		{"", "crmbridge", ""},
		{"crmbridge/prod-bridge", "crmbridge/prod-bridge", ""},
		{"AWS/Lambda", "", "METRICS_NAMESPACE must be"},
		{"crm bridge", "", "METRICS_NAMESPACE must be"},
		{strings.Repeat("n", 256), "", "METRICS_NAMESPACE must be"},
	}
	for _, tt := range tests {
		c, err := ConfigFromEnv(func(k string) string {
			return map[string]string{"TENANTS_TABLE": "t", "STATE_TABLE": "s", "METRICS_NAMESPACE": tt.v}[k]
		})
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: error %v, want %q", tt.v, err, tt.err)
			}
			continue
		}
		if err != nil || c.MetricsNamespace != tt.want {
			t.Errorf("%q: namespace %q, %v; want %q", tt.v, c.MetricsNamespace, err, tt.want)
		}
	}
}

func TestConfigNeedsTheFunctionsQueue(t *testing.T) {
	tests := []struct {
		function, inbound, outbound, err string
	}{
		{"source-inbound", "", "", "INBOUND_QUEUE_URL is required"},
		{"source-inbound", "https://sqs/in.fifo", "", ""},
		{"webhook-message", "https://sqs/in.fifo", "", "OUTBOUND_QUEUE_URL is required"},
		{"webhook-message", "", "https://sqs/out.fifo", ""},
		{"webhook-escalation", "", "", ""},
		{"webhook-action", "", "", ""},
	}
	for _, tt := range tests {
		err := Config{InboundQueueURL: tt.inbound, OutboundQueueURL: tt.outbound}.Needs(tt.function)
		if (tt.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("%s with %q %q: %v, want %q", tt.function, tt.inbound, tt.outbound, err, tt.err)
		}
	}
}
