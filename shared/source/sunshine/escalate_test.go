package sunshine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/crmbridge/crmbridge/shared/retry"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/source/sunshine/sunshinetest"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

func passControlBodies(t *testing.T, f *sunshinetest.Server) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, c := range f.Calls("PassControl") {
		var m map[string]any
		if err := json.Unmarshal(c.Body, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func TestEscalate(t *testing.T) {
	tests := []struct {
		name       string
		settings   map[string]any
		escalateTo string
		metadata   map[string]any // conversation metadata before the handover
		agentFirst bool           // a human agent spoke before this bot episode
		wantTarget string
		wantActive string
		wantTags   string // "" means no tags key
		// wantEscalateTo is the escalateTo expected in metadata.
		wantEscalateTo string
	}{
		{name: "default target", wantTarget: "zd:agentWorkspace", wantActive: sunshinetest.AgentSwitchboardName},
		{name: "account target", settings: map[string]any{"handoverTarget": "next"}, wantTarget: "next", wantActive: sunshinetest.AgentSwitchboardName},
		{name: "mapped escalateTo wins", settings: map[string]any{"handoverTarget": "next", "escalationTargets": map[string]any{"billing": "zd-agentWorkspace"}}, escalateTo: " billing ", wantTarget: "zd-agentWorkspace", wantActive: sunshinetest.AgentSwitchboardName, wantEscalateTo: "billing"},
		{name: "unmapped escalateTo goes to the default and travels in metadata", escalateTo: "support", wantTarget: "zd:agentWorkspace", wantActive: sunshinetest.AgentSwitchboardName, wantEscalateTo: "support"},
		{name: "tags", metadata: map[string]any{"tags": "refund vip", "lang": "en"}, wantTarget: "zd:agentWorkspace", wantActive: sunshinetest.AgentSwitchboardName, wantTags: "refund vip"},
		{name: "tags with comma separator", settings: map[string]any{"tagSeparator": ","}, metadata: map[string]any{"tags": "refund vip"}, wantTarget: "zd:agentWorkspace", wantActive: sunshinetest.AgentSwitchboardName, wantTags: "refund,vip"},
		{name: "after an earlier human episode", agentFirst: true, wantTarget: "zd:agentWorkspace", wantActive: sunshinetest.AgentSwitchboardName},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := fakeAPI(t)
			f.AddConversation(testConv, testUser)
			if tc.agentFirst {
				f.UserText(testConv, testUser, "old question")
				f.AddHistory(testConv, map[string]any{"type": "business", "subtypes": []any{"agent"}, "displayName": "Sam"}, map[string]any{"type": "text", "text": "old answer"})
			}
			first := f.UserText(testConv, testUser, "I want a refund").Payload["message"].(map[string]any)["id"]
			if tc.metadata != nil {
				f.SetMetadata(testConv, tc.metadata)
			}
			a := testAdapter()
			acct := account(t, f.URL(), tc.settings)
			if err := a.Send(context.Background(), acct, testConversation(), ultimate.Message{Type: "text", Text: "Let me get someone."}, nil); err != nil {
				t.Fatal(err)
			}
			if err := a.Escalate(context.Background(), acct, testConversation(), source.HandoverRequest{AgentID: "a1", EscalateTo: tc.escalateTo}); err != nil {
				t.Fatalf("Escalate: %v", err)
			}
			bodies := passControlBodies(t, f)
			if len(bodies) != 1 {
				t.Fatalf("%d passControl calls", len(bodies))
			}
			if bodies[0]["switchboardIntegration"] != tc.wantTarget {
				t.Errorf("target %v, want %s", bodies[0]["switchboardIntegration"], tc.wantTarget)
			}
			md, _ := bodies[0]["metadata"].(map[string]any)
			if md[MetaFirstMessageID] != first {
				t.Errorf("first_message_id %v, want %v", md[MetaFirstMessageID], first)
			}
			if got, _ := md[MetaEscalateTo].(string); got != tc.wantEscalateTo {
				t.Errorf("metadata escalateTo %q, want %q", got, tc.wantEscalateTo)
			}
			if tags, ok := md[MetaTicketTags]; (tc.wantTags == "" && ok) || (tc.wantTags != "" && tags != tc.wantTags) {
				t.Errorf("tags %v, want %q", tags, tc.wantTags)
			}
			c, _ := f.Conversation(testConv)
			if c.Active == nil || c.Active.Name != tc.wantActive {
				t.Errorf("active %+v, want %s", c.Active, tc.wantActive)
			}
		})
	}
}

func TestEscalateFailures(t *testing.T) {
	t.Run("conversation gone", func(t *testing.T) {
		f := fakeAPI(t)
		err := testAdapter().Escalate(context.Background(), account(t, f.URL(), nil), testConversation(), source.HandoverRequest{})
		wantHTTPError(t, err, http.StatusNotFound, "conversation_not_found")
		if retry.IsRetryable(err) {
			t.Fatal("404 must not be retried")
		}
	})
	t.Run("unknown target", func(t *testing.T) {
		f := fakeAPI(t)
		f.AddConversation(testConv, testUser)
		acct := account(t, f.URL(), map[string]any{"escalationTargets": map[string]any{"billing": "billing-team"}})
		err := testAdapter().Escalate(context.Background(), acct, testConversation(), source.HandoverRequest{EscalateTo: "billing"})
		wantHTTPError(t, err, http.StatusBadRequest, "bad_request")
	})
	t.Run("rate limited", func(t *testing.T) {
		f := fakeAPI(t)
		f.AddConversation(testConv, testUser)
		f.Fail("PassControl", sunshinetest.Fault{Status: 429, RetryAfter: "2"})
		err := testAdapter().Escalate(context.Background(), account(t, f.URL(), nil), testConversation(), source.HandoverRequest{})
		wantHTTPError(t, err, http.StatusTooManyRequests, "too_many_requests")
		if !retry.IsRetryable(err) {
			t.Fatal("429 must be retryable")
		}
	})
}

func TestEscalateContextIsBestEffort(t *testing.T) {
	f := fakeAPI(t)
	f.AddConversation(testConv, testUser)
	f.SetMetadata(testConv, map[string]any{"tags": "vip"})
	f.Fail("GetConversation", sunshinetest.Fault{Status: 500})
	f.Fail("ListMessages", sunshinetest.Fault{Status: 503})
	var logs bytes.Buffer
	a := testAdapter()
	a.Log = slog.New(slog.NewJSONHandler(&logs, nil))
	if err := a.Escalate(context.Background(), account(t, f.URL(), nil), testConversation(), source.HandoverRequest{}); err != nil {
		t.Fatalf("handover failed because its context could not be read: %v", err)
	}
	bodies := passControlBodies(t, f)
	if len(bodies) != 1 || bodies[0]["metadata"] != nil {
		t.Fatalf("bodies %+v", bodies)
	}
	if strings.Count(logs.String(), "handover context incomplete") != 2 {
		t.Errorf("logs: %s", logs.String())
	}
}

func TestEscalateTagsFitMetadataLimit(t *testing.T) {
	f := fakeAPI(t)
	f.AddConversation(testConv, testUser)
	var tags []string
	for i := 0; i < 400; i++ {
		tags = append(tags, "tag_"+strings.Repeat("x", 5)+string(rune('a'+i%26))+string(rune('a'+i/26)))
	}
	f.SetMetadata(testConv, map[string]any{"tags": strings.Join(tags, " ")})
	if err := testAdapter().Escalate(context.Background(), account(t, f.URL(), nil), testConversation(), source.HandoverRequest{}); err != nil {
		t.Fatalf("Escalate: %v", err)
	}
	md := passControlBodies(t, f)[0]["metadata"].(map[string]any)
	sent := strings.Fields(md[MetaTicketTags].(string))
	if len(sent) == 0 || len(sent) >= len(tags) || sent[0] != tags[0] {
		t.Fatalf("sent %d of %d tags, first %q", len(sent), len(tags), sent[0])
	}
	if b, _ := json.Marshal(md); len(b) > maxMetadata {
		t.Fatalf("metadata %d bytes", len(b))
	}
}

// The handover's context travels in the passControl metadata, flat and
// within 4 KB (the fake refuses anything else, as SunCo does), by
// priority: what Zendesk reads first, the transcript last and newest
// turns first.
func TestEscalateContextMetadata(t *testing.T) {
	turns := func(n, size int) []source.Turn {
		var out []source.Turn
		for i := range n {
			out = append(out, source.Turn{From: source.TurnVisitor, Text: fmt.Sprintf("t%02d %s", i, strings.Repeat("y", size))})
		}
		return out
	}
	tests := []struct {
		name    string
		hc      source.HandoverContext
		want    map[string]any
		check   func(t *testing.T, md map[string]any)
		notKeys []string
	}{
		{name: "reason, parameters, held", hc: source.HandoverContext{
			Reason: source.ReasonAgentUnavailable, Params: map[string]string{"plan": "gold", "email": "***"}, Held: []string{"a", "b"}},
			want:    map[string]any{MetaReason: "agent_unavailable", MetaParam + "plan": "gold", MetaParam + "email": "***", MetaHeld: float64(2)},
			notKeys: []string{MetaTranscript}},
		{name: "a short transcript", hc: source.HandoverContext{Reason: source.ReasonEscalate, Transcript: turns(2, 1)},
			want: map[string]any{MetaReason: "escalate", MetaTranscript: "visitor: t00 y\nvisitor: t01 y"}},
		{name: "a long transcript keeps the newest turns", hc: source.HandoverContext{Reason: source.ReasonEscalate, Transcript: turns(60, 100)},
			check: func(t *testing.T, md map[string]any) {
				tr, _ := md[MetaTranscript].(string)
				if !strings.HasSuffix(tr, "t59 "+strings.Repeat("y", 100)) || strings.Contains(tr, "t00 ") || md[MetaFirstMessageID] == nil {
					t.Fatalf("transcript %q", tr)
				}
			}},
		{name: "one huge turn is cut to fit", hc: source.HandoverContext{Transcript: turns(1, 9000)},
			check: func(t *testing.T, md map[string]any) {
				tr, _ := md[MetaTranscript].(string)
				if !strings.HasPrefix(tr, "visitor: t00 y") || !strings.HasSuffix(tr, "…") {
					t.Fatalf("transcript %q", tr)
				}
			}},
		{name: "long parameter values are cut", hc: source.HandoverContext{Params: map[string]string{"note": strings.Repeat("z", 1000)}},
			check: func(t *testing.T, md map[string]any) {
				if v, _ := md[MetaParam+"note"].(string); utf8.RuneCountInString(v) != maxMetaValue {
					t.Fatalf("value of %d characters", utf8.RuneCountInString(v))
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := fakeAPI(t)
			f.AddConversation(testConv, testUser)
			f.UserText(testConv, testUser, "hi")
			if err := testAdapter().Escalate(context.Background(), account(t, f.URL(), nil), testConversation(), source.HandoverRequest{Context: tc.hc}); err != nil {
				t.Fatalf("Escalate: %v", err)
			}
			md := passControlBodies(t, f)[0]["metadata"].(map[string]any)
			for k, v := range tc.want {
				if md[k] != v {
					t.Errorf("%s = %#v, want %#v", k, md[k], v)
				}
			}
			for _, k := range tc.notKeys {
				if _, ok := md[k]; ok {
					t.Errorf("%s present", k)
				}
			}
			if tc.check != nil {
				tc.check(t, md)
			}
			if b, _ := json.Marshal(md); len(b) > maxMetadata {
				t.Fatalf("metadata %d bytes", len(b))
			}
			c, _ := f.Conversation(testConv)
			if len(c.PassMetadata) != len(md) {
				t.Fatalf("SunCo kept %d keys of %d", len(c.PassMetadata), len(md))
			}
		})
	}
}

// Whatever the context holds, the metadata is flat (strings and numbers)
// and within SunCo's 4 KB.
func FuzzHandoverMetadata(f *testing.F) {
	f.Add("tier2", "a b c", "email", "***", "where is my parcel", 3, 40)
	f.Add("", "", "k", strings.Repeat("é", 3000), strings.Repeat("\"\\\n", 500), 60, 1)
	f.Fuzz(func(t *testing.T, escalateTo, tags, key, value, text string, turns, held int) {
		if turns < 0 || turns > 100 || held < 0 || held > 100 {
			return
		}
		hc := source.HandoverContext{Reason: source.ReasonEscalate, Params: map[string]string{key: value, "x" + key: value + value}, Held: make([]string, held)}
		for range turns {
			hc.Transcript = append(hc.Transcript, source.Turn{From: source.TurnBot, Text: text})
		}
		md := handoverMetadata("m1", escalateTo, strings.Fields(tags), " ", hc)
		if b, _ := json.Marshal(md); len(b) > maxMetadata {
			t.Fatalf("metadata of %d bytes", len(b))
		}
		for k, v := range md {
			switch v.(type) {
			case string, int:
			default:
				t.Fatalf("%s is a %T", k, v)
			}
		}
	})
}
