package app

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/crmbridge/crmbridge/shared/apigw"
)

// InvokeAPI is the one Lambda call the single webhook URL makes.
type InvokeAPI interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, opts ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

var _ InvokeAPI = (*lambda.Client)(nil)

// LambdaForwarder passes a webhook to the escalation or action function with
// a synchronous invoke and returns that function's answer unchanged.
type LambdaForwarder struct {
	API       InvokeAPI
	Functions map[string]string // route.WebhookEscalation/WebhookAction → the deployed function's name
}

// Forward implements message.Forwarder.
func (f *LambdaForwarder) Forward(ctx context.Context, function string, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
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

// LocalForwarder calls handlers in-process, by function name: the local
// stack's stand-in for Lambda invokes, through the same interface.
type LocalForwarder map[string]apigw.LambdaHandler

// Forward implements message.Forwarder.
func (f LocalForwarder) Forward(ctx context.Context, function string, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	h, ok := f[function]
	if !ok {
		return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("no local handler for %s", function)
	}
	return h(ctx, ev)
}
