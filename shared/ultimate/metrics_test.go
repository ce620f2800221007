package ultimate

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/crmbridge/crmbridge/shared/obs"
	"github.com/crmbridge/crmbridge/shared/obs/obstest"
)

// Every HTTP attempt is one AgentRequests and one AgentLatency; each failed
// one is an AgentErrors with its reason, so the error rate is per attempt.
func TestAgentMetricsPerAttempt(t *testing.T) {
	tests := []struct {
		name    string
		replies []reply
		widget  bool
		want    []string // name/Operation[/Reason], sorted
	}{
		{name: "200", replies: []reply{{status: 200}},
			want: []string{"AgentLatency/chat", "AgentRequests/chat"}},
		{name: "503 then 200", replies: []reply{{status: 503}, {status: 200}},
			want: []string{"AgentErrors/chat/5xx", "AgentLatency/chat", "AgentLatency/chat", "AgentRequests/chat", "AgentRequests/chat"}},
		{name: "429 then 200", replies: []reply{{status: 429}, {status: 200}},
			want: []string{"AgentErrors/chat/429", "AgentLatency/chat", "AgentLatency/chat", "AgentRequests/chat", "AgentRequests/chat"}},
		{name: "404", replies: []reply{{status: 404}},
			want: []string{"AgentErrors/chat/4xx", "AgentLatency/chat", "AgentRequests/chat"}},
		{name: "widget 400", replies: []reply{{status: 400}}, widget: true,
			want: []string{"AgentErrors/widget/4xx", "AgentLatency/widget", "AgentRequests/widget"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.replies...)
			var out bytes.Buffer
			h.client.Metrics = obs.NewMetrics(&out, "crmbridge", "source-inbound")
			if tt.widget {
				_ = h.client.Widget(context.Background(), target, WidgetEvent{PlatformConversationID: "p", EventType: WidgetMessage, Text: "hi"})
			} else {
				_ = h.client.Chat(context.Background(), target, ChatEvent{PlatformConversationID: "p", EventType: EventMessage, Text: "hi"})
			}
			var got []string
			for _, m := range obstest.Metrics(strings.Split(out.String(), "\n")) {
				d := m.Dimensions[0]
				s := fmt.Sprintf("%s/%s", m.Name, d["Operation"])
				if r := d["Reason"]; r != "" {
					s += "/" + r
				}
				got = append(got, s)
			}
			sort.Strings(got)
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Fatalf("metrics %v, want %v", got, tt.want)
			}
		})
	}
}

func TestErrorReasonOfATransportFailure(t *testing.T) {
	h := newHarness(t)
	var out bytes.Buffer
	h.client.Metrics = obs.NewMetrics(&out, "crmbridge", "source-inbound")
	h.client.DefaultBaseURL = "http://127.0.0.1:1" // nothing listens
	_ = h.client.Chat(context.Background(), target, ChatEvent{PlatformConversationID: "p", EventType: EventMessage, Text: "hi"})
	if !strings.Contains(out.String(), `"Reason":"network"`) {
		t.Fatalf("no network reason in %s", out.String())
	}
}
