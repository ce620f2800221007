package localstack

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/crmbridge/crmbridge/shared/route"
)

// Emulated runs the four real bootstraps under the Runtime Interface
// Emulator against a Stack's moto_server, fake AI agent and demo desk: the
// same binaries `sam build` ships, fed the same events `sam local invoke`
// takes.
type Emulated struct {
	Stack  *Stack
	RIEs   map[string]*RIE
	lambda *http.Server
}

// StartEmulated starts one emulator per function from bootstraps built by
// BuildBootstraps into buildDir.
func StartEmulated(ctx context.Context, st *Stack, buildDir string) (e *Emulated, err error) {
	e = &Emulated{Stack: st, RIEs: map[string]*RIE{}}
	defer func() {
		if err != nil {
			e.Stop()
		}
	}()
	lapi := &LambdaAPI{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e.lambda = &http.Server{Handler: lapi, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = e.lambda.Serve(ln) }()
	lambdaURL := "http://" + ln.Addr().String()

	base := map[string]string{
		"TENANTS_TABLE": st.Opts.TenantsTable, "STATE_TABLE": st.Opts.StateTable,
		"ULTIMATE_BASE_URL": st.Deps.Config.UltimateBaseURL, "LOG_LEVEL": "DEBUG", "STAGE": "local", "EGRESS_LOCAL": "1",
		"CONFIG_TTL_SECONDS": "1", "AWS_ENDPOINT_URL": st.Endpoint, "AWS_ENDPOINT_URL_DYNAMODB": st.DynamoDBEndpoint, "AWS_ENDPOINT_URL_LAMBDA": lambdaURL,
		"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
		"AWS_LAMBDA_FUNCTION_TIMEOUT": "20", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
		// The stack's queues: the bootstraps' HTTP side enqueues there (the
		// stack's pollers deliver), their queue side takes the SQS samples.
		"AWS_ENDPOINT_URL_SQS": st.SQSEndpoint,
		"INBOUND_QUEUE_URL":    st.Queues.Inbound, "OUTBOUND_QUEUE_URL": st.Queues.Outbound,
	}
	for _, fn := range route.Functions {
		env := map[string]string{"AWS_LAMBDA_FUNCTION_NAME": "crmbridge-" + fn}
		for k, v := range base {
			env[k] = v
		}
		if fn == route.WebhookMessage {
			env["ESCALATION_FUNCTION"] = "crmbridge-webhook-escalation"
			env["ACTION_FUNCTION"] = "crmbridge-webhook-action"
		}
		r, err := StartRIE(ctx, filepath.Join(buildDir, "aws-lambda-rie"), filepath.Join(buildDir, fn, "bootstrap"), env)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", fn, err)
		}
		e.RIEs[fn] = r
		lapi.Register("crmbridge-"+fn, r)
	}
	return e, nil
}

// Invoke sends a sample event (its signature refreshed when it is a validly
// signed generic event) to a function and decodes the HTTP API answer.
func (e *Emulated) Invoke(ctx context.Context, fn string, event []byte) (events.APIGatewayV2HTTPResponse, error) {
	var resp events.APIGatewayV2HTTPResponse
	r, ok := e.RIEs[fn]
	if !ok {
		return resp, fmt.Errorf("no function %q", fn)
	}
	payload, _, err := RefreshSignature(event, filepath.Join(e.Stack.Opts.EventsDir, "tenant"), time.Now())
	if err != nil {
		return resp, err
	}
	out, err := r.Invoke(ctx, payload)
	if err != nil {
		return resp, err
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		return resp, fmt.Errorf("the function's answer is not an HTTP API response: %w: %s", err, out)
	}
	return resp, nil
}

// Stop ends the emulators.
func (e *Emulated) Stop() {
	for _, r := range e.RIEs {
		r.Stop()
	}
	if e.lambda != nil {
		_ = e.lambda.Close()
	}
}
