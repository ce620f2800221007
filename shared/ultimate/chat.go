package ultimate

// DefaultBaseURL is the documented API host.
const DefaultBaseURL = "https://api.ultimate.ai"

// Chat API event types.
const (
	EventStartSession = "startSession"
	EventMessage      = "message"
	EventEndSession   = "endSession"
	EventMetadata     = "metadata"
)

// ChatEvent is the body of POST /converse/chat.
type ChatEvent struct {
	PlatformConversationID string     `json:"platformConversationId"`
	EventType              string     `json:"eventType"`
	Text                   string     `json:"text,omitempty"`
	CardIndex              *int       `json:"cardIndex,omitempty"`
	MetaData               []MetaItem `json:"metaData,omitempty"`
}

// MetaItem is a session parameter. Values are strings only; Sanitize marks
// personal data so the AI agent masks it.
type MetaItem struct {
	Key      string `json:"key"`
	Value    string `json:"value"`
	Sanitize bool   `json:"sanitize,omitempty"`
}

// Widget API event types (POST /agent/converse/send-message-to-widget).
const (
	WidgetQueueUpdate     = "escalationQueueUpdate"
	WidgetSuccess         = "escalationSuccess"
	WidgetMessage         = "message"
	WidgetAgentDisconnect = "agentDisconnect"
	WidgetFailed          = "escalationFailed"
)

// WidgetEvent is the body of the widget escalation API. Queue position and
// waiting time are strings in the contract.
type WidgetEvent struct {
	PlatformConversationID string `json:"platformConversationId"`
	EventType              string `json:"eventType"`
	Text                   string `json:"text,omitempty"`
	Agent                  string `json:"agent,omitempty"`
	AgentAvatar            string `json:"agentAvatar,omitempty"`
	QueuePosition          string `json:"queuePosition,omitempty"`
	WaitingTime            string `json:"waitingTime,omitempty"`
}
