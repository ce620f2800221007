package app

import (
	"context"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/message"
)

// NewForwarder builds the single webhook URL's forwarder of a deployed
// webhook-message from the SDK configuration and the deployed names of the
// functions it forwards to (shared/forward.New).
type NewForwarder func(cfg aws.Config, functions map[string]string) message.Forwarder

// A MainOption gives Main a part that only some functions link.
type MainOption func(*mainParts)

type mainParts struct{ newForwarder NewForwarder }

// WithForwarder is webhook-message's option: the single URL forwards with
// newForwarder. Taking it from the function's main, not building it here,
// keeps the forwarding (and its SigV4 invoke) out of the other three
// functions.
func WithForwarder(newForwarder NewForwarder) MainOption {
	return func(p *mainParts) { p.newForwarder = newForwarder }
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
