package forward

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/crmbridge/crmbridge/shared/route"
)

// fakeLambda answers Invoke as Client does: the function's answer, or
// the failure.
type fakeLambda struct {
	called  bool
	name    string
	sent    []byte
	err     error
	payload []byte
}

func (f *fakeLambda) Invoke(_ context.Context, name string, payload []byte) ([]byte, error) {
	f.called, f.name, f.sent = true, name, payload
	if f.err != nil {
		return nil, f.err
	}
	return f.payload, nil
}

func TestLambdaForward(t *testing.T) {
	ev := events.APIGatewayV2HTTPRequest{RawPath: "/webhooks", Body: `{"botId":"b"}`, Headers: map[string]string{"authorization": "Bearer s"}}
	answer, _ := json.Marshal(events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: `{"isOnline":true}`})
	functions := map[string]string{route.WebhookEscalation: "stack-esc", route.WebhookAction: "stack-act"}
	for _, tc := range []struct {
		name     string
		function string
		api      *fakeLambda
		wantErr  string
		wantName string
	}{
		{"the owner's answer, unchanged", route.WebhookEscalation, &fakeLambda{payload: answer}, "", "stack-esc"},
		{"a function with no deployed name", route.SourceInbound, &fakeLambda{payload: answer}, "no function configured for source-inbound", ""},
		{"the invoke fails", route.WebhookAction, &fakeLambda{err: errors.New("throttled")}, "invoke stack-act: throttled", "stack-act"},
		{"the function failed", route.WebhookAction, &fakeLambda{err: &FunctionError{Kind: "Unhandled"}}, "function error Unhandled", "stack-act"},
		{"an answer that is not an HTTP response", route.WebhookAction, &fakeLambda{payload: []byte(`[1]`)}, "decode answer of stack-act", "stack-act"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &Lambda{API: tc.api, Functions: functions}
			resp, err := f.Forward(context.Background(), tc.function, ev)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
			} else if err != nil || resp.StatusCode != 200 || resp.Body != `{"isOnline":true}` {
				t.Fatalf("%+v %v", resp, err)
			}
			if tc.wantName == "" {
				if tc.api.called {
					t.Fatal("invoked without a deployed name")
				}
				return
			}
			if tc.api.name != tc.wantName {
				t.Fatalf("invoked %q, want %q", tc.api.name, tc.wantName)
			}
			var sent events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(tc.api.sent, &sent); err != nil || sent.Body != ev.Body || sent.Headers["authorization"] != "Bearer s" {
				t.Fatalf("forwarded %s (%v)", tc.api.sent, err)
			}
		})
	}
}

func TestNewBuildsAnInvokeClient(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL_LAMBDA", "")
	f, ok := New(aws.Config{Region: "us-east-1"}, map[string]string{route.WebhookAction: "a"}).(*Lambda)
	if !ok || f.Functions[route.WebhookAction] != "a" {
		t.Fatalf("%#v", f)
	}
	c, ok := f.API.(*Client)
	if !ok || c.Endpoint != "https://lambda.us-east-1.amazonaws.com" || c.Region != "us-east-1" || c.Retry.Attempts != 3 {
		t.Fatalf("API is %#v", f.API)
	}
}
