package sunshine

import "encoding/json"

// Webhook triggers the adapter acts on (case-sensitive, as subscribed).
const (
	TriggerMessage         = "conversation:message"
	TriggerPostback        = "conversation:postback"
	TriggerCreate          = "conversation:create"
	TriggerPassControl     = "switchboard:passControl"
	TriggerReleaseControl  = "switchboard:releaseControl"
	TriggerPassControlFail = "switchboard:passControl:failure"
)

// Triggers lists what the custom integration's webhook should subscribe to.
var Triggers = []string{TriggerMessage, TriggerPostback, TriggerCreate, TriggerPassControl, TriggerReleaseControl, TriggerPassControlFail}

// The inbound types below follow the OpenAPI spec's x-webhooks schemas.
// Only the fields the bridge reads are declared; the rest are ignored.

type envelope struct {
	App    *appRef         `json:"app"`
	Events json.RawMessage `json:"events"`
}

type appRef struct {
	ID string `json:"id"`
}

type event struct {
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload"`
}

type eventPayload struct {
	Conversation   *conversation `json:"conversation"`
	Message        *messageIn    `json:"message"`
	Postback       *postbackIn   `json:"postback"`
	User           *user         `json:"user"`
	Source         *msgSource    `json:"source"`
	CreationReason string        `json:"creationReason"`
	Error          *struct {
		Code string `json:"code"`
	} `json:"error"`
}

type conversation struct {
	ID                           string                `json:"id"`
	ActiveSwitchboardIntegration *switchboardIntegrRef `json:"activeSwitchboardIntegration"`
}

// switchboardIntegrRef is the spec's switchboardIntegrationWebhook; the
// bridge recognises itself by the integration ID.
type switchboardIntegrRef struct {
	IntegrationID string `json:"integrationId"`
}

type messageIn struct {
	ID      string    `json:"id"`
	Author  authorIn  `json:"author"`
	Content contentIn `json:"content"`
	Deleted bool      `json:"deleted"`
}

type authorIn struct {
	Type string `json:"type"`
}

type contentIn struct {
	Type         string      `json:"type"`
	Text         string      `json:"text"`
	HTMLText     string      `json:"htmlText"`
	MarkdownText string      `json:"markdownText"`
	Payload      string      `json:"payload"`
	MediaURL     string      `json:"mediaUrl"`
	Fields       []formField `json:"fields"`
	TextFallback string      `json:"textFallback"`
	Coordinates  *struct {
		Lat  float64 `json:"lat"`
		Long float64 `json:"long"`
	} `json:"coordinates"`
	Location *struct {
		Address string `json:"address"`
		Name    string `json:"name"`
	} `json:"location"`
}

// formField is a formResponse field (the spec's field schema): the
// response is in text, email or select, by type.
type formField struct {
	Type   string `json:"type"`
	Name   string `json:"name"`
	Label  string `json:"label"`
	Text   string `json:"text"`
	Email  string `json:"email"`
	Select []struct {
		Name  string `json:"name"`
		Label string `json:"label"`
	} `json:"select"`
}

// postbackIn is the spec's postbackWebhook: payload and metadata are both
// optional.
type postbackIn struct {
	Payload  string                     `json:"payload"`
	Metadata map[string]json.RawMessage `json:"metadata"`
}

type msgSource struct {
	Type string `json:"type"`
}

// user is the spec's user schema; profile and identities are present only
// when the webhook has includeFullUser.
type user struct {
	ID            string     `json:"id"`
	ExternalID    string     `json:"externalId"`
	ZendeskID     string     `json:"zendeskId"`
	BrandID       string     `json:"brandId"`
	Authenticated *bool      `json:"authenticated"`
	Profile       *profile   `json:"profile"`
	Identities    []identity `json:"identities"`
}

type profile struct {
	GivenName string `json:"givenName"`
	Surname   string `json:"surname"`
	Email     string `json:"email"`
	Locale    string `json:"locale"`
}

type identity struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}
