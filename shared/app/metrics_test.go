package app_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/crmbridge/crmbridge/shared/app"
	"github.com/crmbridge/crmbridge/shared/app/apptest"
	"github.com/crmbridge/crmbridge/shared/dynamotest"
	"github.com/crmbridge/crmbridge/shared/obs/obstest"
	"github.com/crmbridge/crmbridge/shared/route"
	"github.com/crmbridge/crmbridge/shared/secrets/secretstest"
)

// The functions' wiring, configured from the environment as on Lambda:
// with LOG_LEVEL and AWS_LAMBDA_LOG_LEVEL at any level (the template sets
// both from LogLevel), the line a handler's metric is on passes Lambda's
// filter at that level, and the handler's info log does not.
func TestHandlerMetricsSurviveTheLambdaLogFilter(t *testing.T) {
	for _, level := range obstest.Levels {
		t.Run(level, func(t *testing.T) {
			env := map[string]string{"TENANTS_TABLE": "t", "STATE_TABLE": "s", "LOG_LEVEL": level, "AWS_LAMBDA_LOG_LEVEL": level}
			cfg, err := app.ConfigFromEnv(func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			d := app.Build(cfg, dynamotest.New(), secretstest.New(), app.Options{Out: &out, Service: route.SourceInbound})
			// An unknown source: answered 404, logged, and timed by InboundLatency.
			ev := apptest.Event("POST", "ANY /sources/{source}/{account}", "/sources/nosuch/acme", nil, []byte(`{}`))
			ev.PathParameters = map[string]string{"source": "nosuch", "account": "acme"}
			resp, err := d.Handlers(nil)[route.SourceInbound](context.Background(), ev)
			if err != nil || resp.StatusCode != 404 {
				t.Fatalf("answer %d, %v", resp.StatusCode, err)
			}
			if !strings.Contains(out.String(), `"InboundLatency"`) {
				t.Fatalf("the handler emitted no InboundLatency:\n%s", out.String())
			}
			kept := obstest.Filter(out.String(), level)
			var names []string
			for _, m := range obstest.Metrics(kept) {
				names = append(names, m.Name)
			}
			if len(names) != 1 || names[0] != "InboundLatency" {
				t.Fatalf("at %s Lambda keeps the metrics %v, want [InboundLatency]; output:\n%s", level, names, out.String())
			}
			for _, line := range kept {
				if strings.Contains(line, `"msg"`) && (level == "WARN" || level == "ERROR" || level == "FATAL") && strings.Contains(line, `"level":"INFO"`) {
					t.Fatalf("an info log passed a %s filter: %s", level, line)
				}
			}
		})
	}
}
