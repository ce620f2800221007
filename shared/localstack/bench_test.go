package localstack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/localstack"
	"github.com/crmbridge/crmbridge/shared/route"
	"github.com/crmbridge/crmbridge/shared/source/generic"
)

// What the single webhook URL costs: isTeamOnline answered by the
// escalation handler directly, and through webhook-message's forwarding
// (in-process here, as in the local stack; BenchmarkSingleURLUnderEmulator
// measures the Lambda-invoke path). Warm: config and secrets cached, no
// DynamoDB call on this path.
func BenchmarkSingleURL(b *testing.B) {
	td := newDeps(&testing.T{}, nil)
	esc, msg := td.h[route.WebhookEscalation], td.h[route.WebhookMessage]
	body := converse(map[string]any{"eventType": "isTeamOnline", "teamId": "always"})
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		h    apigw.LambdaHandler
		path string
	}{{"direct", esc, "/webhooks/escalation"}, {"forwarded-in-process", msg, "/webhooks"}} {
		b.Run(bc.name, func(b *testing.B) {
			ev := webhookEvent(bc.path, body, nil)
			_, _ = bc.h(ctx, ev) // warm: load the agent's config and secret
			for b.Loop() {
				resp, _ := bc.h(ctx, ev)
				if resp.StatusCode != 200 {
					b.Fatalf("%d %s", resp.StatusCode, resp.Body)
				}
			}
		})
	}
}

// The same through the real bootstraps: the escalation function invoked
// directly, and webhook-message forwarding to it with a Lambda Invoke call
// (through the local stand-in of the Lambda API).
func BenchmarkSingleURLUnderEmulator(b *testing.B) {
	ctx := context.Background()
	build := b.TempDir()
	if err := localstack.BuildBootstraps(ctx, "../..", build); err != nil {
		b.Fatal(err)
	}
	emu, err := localstack.StartEmulated(ctx, stack, build)
	if err != nil {
		b.Fatal(err)
	}
	defer emu.Stop()
	body := converse(map[string]any{"eventType": "isTeamOnline", "teamId": "always"})
	for _, bc := range []struct{ name, fn, path string }{
		{"direct", "webhook-escalation", "/webhooks/escalation"},
		{"forwarded-lambda-invoke", "webhook-message", "/webhooks"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			raw, _ := json.Marshal(webhookEvent(bc.path, body, nil))
			_, _ = emu.Invoke(ctx, bc.fn, raw) // warm: start the bootstrap, fill its caches
			for b.Loop() {
				resp, err := emu.Invoke(ctx, bc.fn, raw)
				if err != nil || resp.StatusCode != 200 {
					b.Fatalf("%v %d %s", err, resp.StatusCode, resp.Body)
				}
			}
		})
	}
}

// The inbound hot path: a signed visitor message on a known conversation,
// against moto_server and the fake AI agent (moto's latency dominates; the
// figure bounds the bridge's own work from above).
func BenchmarkInboundMessage(b *testing.B) {
	t := &testing.T{}
	td := newDeps(t, nil)
	in := td.h[route.SourceInbound]
	conv := newConv("bench")
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		ev := inboundEvent(t, fmt.Sprintf("evt-%s-%d", conv, i), generic.TypeMessage, generic.InboundData{ConversationID: conv, Text: "hi"})
		resp, _ := in(ctx, ev)
		if resp.StatusCode != 200 {
			b.Fatalf("%d %s", resp.StatusCode, resp.Body)
		}
	}
}
