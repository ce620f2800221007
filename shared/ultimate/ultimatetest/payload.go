package ultimatetest

import "github.com/crmbridge/crmbridge/shared/ultimate"

// envelope is the converse webhook body. channel is always "chat" in the
// template's schema, so the fake sends it even though doc examples omit it.
type envelope struct {
	BotID   string `json:"botId"`
	Channel string `json:"channel"`
	Data    any    `json:"data"`
}

// sendMessageData is a bot message. buttons and carouselCards are always
// present, [] when empty, like the real payloads.
type sendMessageData struct {
	PlatformConversationID string            `json:"platformConversationId"`
	EventType              string            `json:"eventType"`
	Type                   string            `json:"type"` // text | carousel
	Text                   string            `json:"text"`
	Buttons                []ultimate.Button `json:"buttons"`
	CarouselCards          []ultimate.Card   `json:"carouselCards"`
	MessageID              string            `json:"messageId"`
	Confidence             float64           `json:"confidence"`
}

// escalateData serves escalate and widgetEscalate.
type escalateData struct {
	PlatformConversationID string `json:"platformConversationId"`
	EventType              string `json:"eventType"`
	EscalateTo             string `json:"escalateTo,omitempty"`
}

// teamData is isTeamOnline. It has no platformConversationId: the
// documented example omits it, and our side must cope.
type teamData struct {
	EventType string `json:"eventType"`
	TeamID    string `json:"teamId,omitempty"`
}

// widgetMessageData is the visitor's message to a human in the widget. The
// documented example carries conversationId.
type widgetMessageData struct {
	PlatformConversationID string `json:"platformConversationId"`
	ConversationID         string `json:"conversationId"`
	EventType              string `json:"eventType"`
	Text                   string `json:"text"`
}

// widgetEndData is widgetEndSession.
type widgetEndData struct {
	PlatformConversationID string `json:"platformConversationId"`
	EventType              string `json:"eventType"`
}

// message is what the bot says, before it becomes a sendMessageData.
type message struct {
	Type    string // "" means text
	Text    string
	Buttons []ultimate.Button
	Cards   []ultimate.Card
}

func textMessage(text string, buttons ...ultimate.Button) message {
	return message{Text: text, Buttons: buttons}
}
