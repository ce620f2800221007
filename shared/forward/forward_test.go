package forward

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/crmbridge/crmbridge/shared/route"
)

// fakeLambda answers Invoke as the Lambda API does for a function that
// echoes the forwarded event's path in its answer.
type fakeLambda struct {
	got     *lambda.InvokeInput
	err     error
	fnError string
	payload []byte
}

func (f *fakeLambda) Invoke(_ context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	f.got = in
	if f.err != nil {
		return nil, f.err
	}
	out := &lambda.InvokeOutput{StatusCode: 200, Payload: f.payload}
	if f.fnError != "" {
		out.FunctionError = aws.String(f.fnError)
	}
	return out, nil
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
		{"the function failed", route.WebhookAction, &fakeLambda{fnError: "Unhandled", payload: []byte(`{"errorMessage":"x"}`)}, "function error Unhandled", "stack-act"},
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
				if tc.api.got != nil {
					t.Fatal("invoked without a deployed name")
				}
				return
			}
			if aws.ToString(tc.api.got.FunctionName) != tc.wantName {
				t.Fatalf("invoked %q, want %q", aws.ToString(tc.api.got.FunctionName), tc.wantName)
			}
			var sent events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(tc.api.got.Payload, &sent); err != nil || sent.Body != ev.Body || sent.Headers["authorization"] != "Bearer s" {
				t.Fatalf("forwarded %s (%v)", tc.api.got.Payload, err)
			}
		})
	}
}

func TestNewBuildsALambdaClient(t *testing.T) {
	f, ok := New(aws.Config{Region: "us-east-1"}, map[string]string{route.WebhookAction: "a"}).(*Lambda)
	if !ok || f.Functions[route.WebhookAction] != "a" {
		t.Fatalf("%#v", f)
	}
	if _, ok := f.API.(*lambda.Client); !ok {
		t.Fatalf("API is %T", f.API)
	}
}
