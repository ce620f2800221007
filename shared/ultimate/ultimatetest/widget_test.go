package ultimatetest

import (
	"net/http"
	"reflect"
	"slices"
	"testing"

	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// TestWidgetFlow walks the documented widget sequence: widgetEscalate,
// queue updates, escalationSuccess, messages both ways, the visitor's bye.
func TestWidgetFlow(t *testing.T) {
	e := newEnv(t)
	e.say(pcid, "widget")
	e.wait()
	if got, want := e.recv.transcript(pcid), []string{WelcomeText, "<widgetEscalate>"}; !slices.Equal(got, want) {
		t.Fatalf("transcript %q, want %q", got, want)
	}
	if want := decodeJSON(t, `{"platformConversationId":"`+pcid+`","eventType":"widgetEscalate","escalateTo":"support"}`); !reflect.DeepEqual(e.recv.calls()[1].Data, want) {
		t.Errorf("widgetEscalate data %v", e.recv.calls()[1].Data)
	}
	if s, _ := e.fake.Session(pcid); !s.WidgetEscalated || s.AgentConnected {
		t.Errorf("after widgetEscalate: %+v", s)
	}

	// Our side may not post a human's message before the agent is connected.
	if status, _ := e.do(http.MethodPost, WidgetPath, eventJSON(pcid, ultimate.WidgetMessage, map[string]any{"text": "early"}), nil); status != http.StatusBadRequest {
		t.Errorf("message before escalationSuccess: %d, want 400", status)
	}
	e.widget(pcid, ultimate.WidgetQueueUpdate, map[string]any{"queuePosition": "2", "waitingTime": "4"})
	e.say(pcid, "are you there?") // the visitor types while queued: forwarded, not answered
	e.widget(pcid, ultimate.WidgetSuccess, map[string]any{"agent": "Anna", "agentAvatar": "https://example.com/anna.png"})
	e.widget(pcid, ultimate.WidgetMessage, map[string]any{"text": "Hi, Anna here."})
	e.say(pcid, "Bye ")
	e.wait()

	want := []string{WelcomeText, "<widgetEscalate>", "<widgetMessage>", "<widgetEndSession>"}
	if got := e.recv.transcript(pcid); !slices.Equal(got, want) {
		t.Fatalf("transcript %q, want %q", got, want)
	}
	s, _ := e.fake.Session(pcid)
	calls := e.recv.calls()
	wantMsg := decodeJSON(t, `{"platformConversationId":"`+pcid+`","conversationId":"`+s.ConversationID+`","eventType":"widgetMessage","text":"are you there?"}`)
	if !reflect.DeepEqual(calls[2].Data, wantMsg) {
		t.Errorf("widgetMessage data\n got %v\nwant %v", calls[2].Data, wantMsg)
	}
	if want := decodeJSON(t, `{"platformConversationId":"`+pcid+`","eventType":"widgetEndSession"}`); !reflect.DeepEqual(calls[3].Data, want) {
		t.Errorf("widgetEndSession data %v", calls[3].Data)
	}
	if !s.Ended || s.EndReason != EndByWidget || s.WidgetEscalated || !s.AgentConnected {
		t.Errorf("after bye: %+v", s)
	}
	var widgetEvents []string
	for _, r := range e.fake.Received() {
		if r.Widget != nil {
			widgetEvents = append(widgetEvents, r.Widget.EventType)
		}
	}
	if want := []string{ultimate.WidgetQueueUpdate, ultimate.WidgetSuccess, ultimate.WidgetMessage}; !slices.Equal(widgetEvents, want) {
		t.Errorf("received widget events %q, want %q", widgetEvents, want)
	}

	// The conversation goes back to the bot with a fresh session.
	e.say(pcid, "hello")
	e.wait()
	if got := e.recv.transcript(pcid)[4:]; !slices.Equal(got, []string{WelcomeText, "You said: hello"}) {
		t.Errorf("after the escalated session: %q", got)
	}
}

// TestWidgetHandBack checks the bot takes the conversation back when the
// escalation fails or the human leaves, and falls back at once when our
// side rejects widgetEscalate.
func TestWidgetHandBack(t *testing.T) {
	tests := []struct {
		name   string
		status int    // our answer to widgetEscalate
		event  string // widget API event after it, if any
		want   []string
	}{
		{name: "escalationFailed", status: 200, event: ultimate.WidgetFailed,
			want: []string{WelcomeText, "<widgetEscalate>", "You said: hi"}},
		{name: "agentDisconnect", status: 200, event: ultimate.WidgetAgentDisconnect,
			want: []string{WelcomeText, "<widgetEscalate>", "You said: hi"}},
		{name: "rejected", status: 400,
			want: []string{WelcomeText, "<widgetEscalate>", EscalateFailedText, "You said: hi"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.recv.setAnswer(answerFor(map[string]string{ultimate.EventWidgetEscalate: ""}, tt.status))
			e.say(pcid, "widget")
			e.wait()
			if tt.event != "" {
				e.widget(pcid, ultimate.WidgetSuccess, map[string]any{"agent": "Anna"})
				e.widget(pcid, tt.event, nil)
			}
			e.say(pcid, "hi")
			e.wait()
			if got := e.recv.transcript(pcid); !slices.Equal(got, tt.want) {
				t.Errorf("transcript %q, want %q", got, tt.want)
			}
			s, _ := e.fake.Session(pcid)
			if s.WidgetEscalated || s.AgentConnected {
				t.Errorf("session %+v", s)
			}
			if status, _ := e.do(http.MethodPost, WidgetPath, eventJSON(pcid, ultimate.WidgetMessage, map[string]any{"text": "late"}), nil); status != http.StatusBadRequest {
				t.Errorf("message after the human left: %d, want 400", status)
			}
		})
	}
}
