// Command webhook-message delivers the AI agent's replies to the platforms
// and serves the single webhook URL, forwarding escalation and action calls
// to their functions. All logic lives in shared/message.
package main

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/crmbridge/crmbridge/shared/app"
	"github.com/crmbridge/crmbridge/shared/message"
)

func main() {
	app.Main(app.FnWebhookMessage, func(_ context.Context, d *app.Deps) (any, error) {
		esc, act := d.Config.EscalationFunction, d.Config.ActionFunction
		if esc == "" || act == "" {
			return nil, errors.New("ESCALATION_FUNCTION and ACTION_FUNCTION are required for the single webhook URL")
		}
		fwd := &app.LambdaForwarder{
			API:       lambda.NewFromConfig(d.AWS),
			Functions: map[string]string{message.FunctionEscalation: esc, message.FunctionAction: act},
		}
		return d.Message(fwd).Handle, nil
	})
}
