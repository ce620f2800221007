// Package forward carries the single webhook URL's calls from
// webhook-message to the function that owns them, with a synchronous Lambda
// invoke, and returns that function's answer unchanged. Only
// webhook-message's main imports it, so the Lambda client (a large part of
// the SDK, with a costly package init) links into that function alone
// (issue 12); the local stack forwards in-process (app.LocalForwarder).
package forward

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/crmbridge/crmbridge/shared/message"
)

// InvokeAPI is the one Lambda call the single webhook URL makes.
type InvokeAPI interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, opts ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

var _ InvokeAPI = (*lambda.Client)(nil)

// New is the forwarder of a deployed webhook-message: a Lambda client over
// cfg, and the deployed names of the functions it forwards to
// (route.WebhookEscalation/WebhookAction → name).
func New(cfg aws.Config, functions map[string]string) message.Forwarder {
	return &Lambda{API: lambda.NewFromConfig(cfg), Functions: functions}
}

// Lambda passes a webhook to the escalation or action function with a
// synchronous invoke and returns that function's answer unchanged.
type Lambda struct {
	API       InvokeAPI
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
	out, err := f.API.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name), Payload: payload})
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("invoke %s: %w", name, err)
	}
	if out.FunctionError != nil {
		return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("invoke %s: function error %s", name, aws.ToString(out.FunctionError))
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out.Payload, &resp); err != nil {
		return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("decode answer of %s: %w", name, err)
	}
	return resp, nil
}
