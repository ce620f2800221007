// Package forward carries the single webhook URL's calls from
// webhook-message to the function that owns them, with a synchronous Lambda
// invoke, and returns that function's answer unchanged. The invoke is one
// signed POST to Lambda's REST API (Client), not the SDK's Lambda client:
// that client cost webhook-message about 0.15× a hello-world's cold start,
// 1.9 MB of memory and 0.7 MB of binary for this one call (issue 12). The
// local stack forwards in-process (app.LocalForwarder).
package forward

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/crmbridge/crmbridge/shared/message"
)

// Invoker is the one Lambda call the single webhook URL makes: a
// synchronous invoke of a function by name (or ARN, or name:alias) that
// returns the function's answer payload. A function that failed is a
// *FunctionError.
type Invoker interface {
	Invoke(ctx context.Context, function string, payload []byte) ([]byte, error)
}

var _ Invoker = (*Client)(nil)

// New is the forwarder of a deployed webhook-message: a Lambda Invoke
// client over cfg and the environment (for AWS_ENDPOINT_URL_LAMBDA), and
// the deployed names of the functions it forwards to
// (route.WebhookEscalation/WebhookAction → name).
func New(cfg aws.Config, functions map[string]string) message.Forwarder {
	return &Lambda{API: NewClient(cfg, os.Getenv), Functions: functions}
}

// Lambda passes a webhook to the escalation or action function with a
// synchronous invoke and returns that function's answer unchanged.
type Lambda struct {
	API       Invoker
	Functions map[string]string // route.WebhookEscalation/WebhookAction → the deployed function's name
}

// Forward implements message.Forwarder.
func (f *Lambda) Forward(ctx context.Context, function string, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	name := f.Functions[function]
	if name == "" {
		return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("no function configured for %s", function)
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("encode forwarded event: %w", err)
	}
	out, err := f.API.Invoke(ctx, name, payload)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("invoke %s: %w", name, err)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("decode answer of %s: %w", name, err)
	}
	return resp, nil
}
